-- gemeente x peildatum x woningtype: step-free, care-ready and clustered homes realised and planned.
with snapshots as (
    select distinct peildatum, vorige_peildatum from {{ ref('int_plannen') }}
),

typen as (
    select unnest(['nultreden', 'zorggeschikt', 'geclusterd']) as woningtype
),

plannen as (
    select
        p.gemeente_code,
        p.peildatum,
        t.woningtype,
        p.status,
        p.oplevering_jaar,
        p.vorige_peildatum,
        p.vorige_status,
        case t.woningtype
            when 'nultreden' then p.nultreden
            when 'zorggeschikt' then p.zorggeschikt
            else p.geclusterd
        end as aantal
    from {{ ref('int_plannen') }} as p
    cross join typen as t
),

per_snapshot as (
    select
        gemeente_code,
        peildatum,
        woningtype,
        sum(aantal) filter (where status = 'gerealiseerd' and oplevering_jaar = year(peildatum)) as gerealiseerd_dit_jaar,
        sum(aantal) filter (where status = 'gerealiseerd' and coalesce(vorige_status, '') <> 'gerealiseerd')
            as gerealiseerd_sinds_vorige,
        sum(aantal) filter (where status = 'in_aanbouw') as in_aanbouw,
        sum(aantal) filter (where status = 'hard') as hard,
        sum(aantal) filter (where status = 'zacht') as zacht
    from plannen
    group by all
),

grid as (
    select g.gemeente_code, s.peildatum, s.vorige_peildatum, t.woningtype
    from {{ ref('int_gemeenten') }} as g
    cross join snapshots as s
    cross join typen as t
),

gevuld as (
    select
        grid.gemeente_code,
        grid.peildatum,
        grid.woningtype,
        grid.vorige_peildatum,
        coalesce(p.gerealiseerd_dit_jaar, 0) as gerealiseerd_dit_jaar,
        coalesce(p.gerealiseerd_sinds_vorige, 0) as gerealiseerd_sinds_vorige,
        coalesce(p.in_aanbouw, 0) as in_aanbouw,
        coalesce(p.hard, 0) as hard,
        coalesce(p.zacht, 0) as zacht,
        coalesce(p.in_aanbouw, 0) + coalesce(p.hard, 0) + coalesce(p.zacht, 0) as plancapaciteit
    from grid
    left join per_snapshot as p
        on grid.gemeente_code = p.gemeente_code and grid.peildatum = p.peildatum and grid.woningtype = p.woningtype
)

select
    n.gemeente_code,
    g.gemeente_naam,
    n.peildatum,
    n.woningtype,
    cast(n.gerealiseerd_dit_jaar as bigint) as gerealiseerd_dit_jaar,
    cast(case when n.vorige_peildatum is not null then n.gerealiseerd_sinds_vorige end as bigint)
        as gerealiseerd_sinds_vorige,
    cast(n.in_aanbouw as bigint) as in_aanbouw,
    cast(n.hard as bigint) as hard,
    cast(n.zacht as bigint) as zacht,
    cast(n.plancapaciteit as bigint) as plancapaciteit,
    cast(n.plancapaciteit - v.plancapaciteit as bigint) as mutatie_plancapaciteit,
    cast(d.doel as integer) as doel
from gevuld as n
inner join {{ ref('int_gemeenten') }} as g on n.gemeente_code = g.gemeente_code
left join gevuld as v
    on n.gemeente_code = v.gemeente_code and n.vorige_peildatum = v.peildatum and n.woningtype = v.woningtype
left join {{ ref('doelen_ouderenhuisvesting') }} as d
    on
        n.gemeente_code = d.gemeente_code and n.woningtype = d.woningtype
        and year(n.peildatum) between d.jaar_van and d.jaar_tot
