-- gemeente x peildatum: social rent realised and in plan capacity (hard and soft), transformation included.
with snapshots as (
    select distinct peildatum, vorige_peildatum from {{ ref('int_plannen') }}
),

per_snapshot as (
    select
        gemeente_code,
        peildatum,
        sum(sociale_huur) filter (where status = 'gerealiseerd' and oplevering_jaar = year(peildatum))
            as gerealiseerd_dit_jaar,
        sum(sociale_huur) filter (where status = 'gerealiseerd' and coalesce(vorige_status, '') <> 'gerealiseerd')
            as gerealiseerd_sinds_vorige,
        sum(sociale_huur) filter (where status in ('in_aanbouw', 'hard', 'zacht')) as plancapaciteit,
        sum(sociale_huur_tot_aftoppingsgrens) filter (where status in ('in_aanbouw', 'hard', 'zacht'))
            as plancapaciteit_tot_aftoppingsgrens,
        sum(sociale_huur) filter (where status in ('in_aanbouw', 'hard')) as harde_plancapaciteit,
        sum(aantal_woningen) filter (where transformatie and status in ('in_aanbouw', 'hard', 'zacht'))
            as transformatie_woningen
    from {{ ref('int_plannen') }}
    group by all
)

select
    g.gemeente_code,
    g.gemeente_naam,
    s.peildatum,
    cast(coalesce(p.gerealiseerd_dit_jaar, 0) as bigint) as gerealiseerd_dit_jaar,
    cast(case when s.vorige_peildatum is not null then coalesce(p.gerealiseerd_sinds_vorige, 0) end as bigint)
        as gerealiseerd_sinds_vorige,
    cast(coalesce(p.plancapaciteit, 0) as bigint) as plancapaciteit,
    cast(coalesce(p.plancapaciteit_tot_aftoppingsgrens, 0) as bigint) as plancapaciteit_tot_aftoppingsgrens,
    cast(coalesce(p.harde_plancapaciteit, 0) as bigint) as harde_plancapaciteit,
    cast(coalesce(p.transformatie_woningen, 0) as bigint) as transformatie_woningen
from {{ ref('int_gemeenten') }} as g
cross join snapshots as s
left join per_snapshot as p on g.gemeente_code = p.gemeente_code and s.peildatum = p.peildatum
