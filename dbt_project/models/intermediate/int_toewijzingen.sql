-- Allocations up to data_tot with the flags every mart uses: in scope, samenwerkend, urgent, telt_mee.
-- telt_mee: no counting rule (seed telt_mee_uitzonderingen) matches the allocation; telt_mee_reden: the reason of
-- the most specific matching rule (fewest '*' and open years, then the reason's text: deterministic).
with categorieen as (
    select distinct urgentiecategorie, wettelijk from {{ ref('urgentiecategorieen') }}
),

regels as (
    -- empty = '*' (an all-rule); a year left empty leaves the period open on that side
    select
        coalesce(nullif(trim(gemeente_code), ''), '*') as gemeente_code,
        coalesce(nullif(trim(urgentiecategorie), ''), '*') as urgentiecategorie,
        coalesce(nullif(trim(subcategorie), ''), '*') as subcategorie,
        lower(coalesce(nullif(trim(corporatie), ''), '*')) as corporatie,
        jaar_van,
        jaar_tot,
        coalesce(nullif(trim(reden), ''), 'uitgezonderd door een telregel') as reden
    from {{ ref('telt_mee_uitzonderingen') }}
),

toewijzingen as (
    select
        t.*,
        (
            select r.reden
            from regels as r
            where
                r.gemeente_code in ('*', t.gemeente_code)
                and r.urgentiecategorie in ('*', t.urgentiecategorie)
                and r.subcategorie in ('*', t.subcategorie)
                and r.corporatie in ('*', lower(trim(t.corporatie)))
                and year(t.toewijzingsdatum) >= coalesce(r.jaar_van, year(t.toewijzingsdatum))
                and year(t.toewijzingsdatum) <= coalesce(r.jaar_tot, year(t.toewijzingsdatum))
            order by
                (r.gemeente_code = '*')::int + (r.urgentiecategorie = '*')::int + (r.subcategorie = '*')::int
                + (r.corporatie = '*')::int + (r.jaar_van is null)::int + (r.jaar_tot is null)::int,
                r.reden
            limit 1
        ) as telt_mee_reden
    from {{ ref('stg_swev__toewijzingen') }} as t
)

select
    t.* exclude (telt_mee_reden),  -- noqa: RF02
    coalesce(g.in_afspraak, false) as in_scope,
    coalesce(c.samenwerkend, false) as samenwerkend,
    c.corporatie is null as corporatie_onbekend,
    coalesce(k.wettelijk, false) as wettelijk,
    -- wettelijk urgent gehuisvest: a legal category, by any route but statushouder, with any landlord
    coalesce(k.wettelijk, false) and t.toewijzingsroute <> 'statushouder' as is_urgent,
    t.telt_mee_reden is null as telt_mee,
    t.telt_mee_reden
from toewijzingen as t
cross join {{ ref('int_peildatum') }} as p
left join {{ ref('gemeenten') }} as g on t.gemeente_code = g.gemeente_code
left join {{ ref('corporaties') }} as c on lower(trim(t.corporatie)) = lower(trim(c.corporatie))
left join categorieen as k on t.urgentiecategorie = k.urgentiecategorie
where t.toewijzingsdatum <= p.data_tot
