-- gemeente x jaar: the suitability funnel of afsprakenkader §3.2, each column a subset of the one before
-- (boven_lage_gepersonaliseerd: of samenwerkend_max_3_kamers). Rent thresholds of the allocation's year, inclusive.
-- The last two columns repeat samenwerkend and samenwerkend_max_3_kamers under the names spec/marts.md published
-- (deprecated aliases, for readers of the published copy).
with toewijzingen as (
    select
        t.gemeente_code,
        t.jaar,
        t.samenwerkend,
        t.aantal_kamers <= 3 as max_3_kamers,
        t.netto_huur <= h.hoge_aftoppingsgrens as tot_hoge,
        t.netto_huur <= h.lage_aftoppingsgrens as tot_lage,
        t.label in ('senioren', 'jongeren') as gelabeld,
        t.gepersonaliseerde_huur,
        h.voorlopig
    from {{ ref('int_toewijzingen') }} as t
    left join {{ ref('huurgrenzen') }} as h on t.jaar = h.jaar
    where t.in_scope
),

per_jaar as (
    select
        gemeente_code,
        jaar,
        count(*) as toewijzingen,
        count(*) filter (where samenwerkend) as samenwerkend,
        count(*) filter (where samenwerkend and max_3_kamers) as samenwerkend_max_3_kamers,
        count(*) filter (where samenwerkend and max_3_kamers and tot_hoge) as tot_hoge_aftoppingsgrens,
        count(*) filter (where samenwerkend and max_3_kamers and tot_hoge and tot_lage) as tot_lage_aftoppingsgrens,
        count(*) filter (where samenwerkend and max_3_kamers and tot_hoge and tot_lage and gelabeld) as tot_lage_gelabeld,
        count(*) filter (where samenwerkend and max_3_kamers and not tot_lage and gepersonaliseerde_huur)
            as boven_lage_gepersonaliseerd,
        bool_or(voorlopig) as drempel_voorlopig
    from toewijzingen
    group by all
)

select
    g.gemeente_code,
    g.gemeente_naam,
    j.jaar,
    cast(coalesce(p.toewijzingen, 0) as bigint) as toewijzingen,
    cast(coalesce(p.samenwerkend, 0) as bigint) as samenwerkend,
    cast(coalesce(p.samenwerkend_max_3_kamers, 0) as bigint) as samenwerkend_max_3_kamers,
    cast(case when h.jaar is not null then coalesce(p.tot_hoge_aftoppingsgrens, 0) end as bigint)
        as tot_hoge_aftoppingsgrens,
    cast(case when h.jaar is not null then coalesce(p.tot_lage_aftoppingsgrens, 0) end as bigint)
        as tot_lage_aftoppingsgrens,
    cast(case when h.jaar is not null then coalesce(p.tot_lage_gelabeld, 0) end as bigint) as tot_lage_gelabeld,
    cast(case when h.jaar is not null then coalesce(p.boven_lage_gepersonaliseerd, 0) end as bigint)
        as boven_lage_gepersonaliseerd,
    coalesce(h.voorlopig, false) as drempel_voorlopig,
    h.jaar is null as drempel_ontbreekt,
    cast(coalesce(p.samenwerkend, 0) as bigint) as swev,
    cast(coalesce(p.samenwerkend_max_3_kamers, 0) as bigint) as swev_max_3_kamers
from {{ ref('int_gemeenten') }} as g
cross join {{ ref('int_jaren') }} as j
left join per_jaar as p on g.gemeente_code = p.gemeente_code and j.jaar = p.jaar
left join {{ ref('huurgrenzen') }} as h on j.jaar = h.jaar
