-- Plans of the snapshots up to data_tot in the gemeenten of the agreement, with their status in the previous snapshot.
with snapshots as (
    select distinct s.peildatum
    from {{ ref('stg_planregister__plannen') }} as s
    cross join {{ ref('int_peildatum') }} as p
    where s.peildatum <= p.data_tot
),

volgorde as (
    select peildatum, lag(peildatum) over (order by peildatum) as vorige_peildatum
    from snapshots
)

select
    p.*,
    v.vorige_peildatum,
    vorig.status as vorige_status
from {{ ref('stg_planregister__plannen') }} as p
inner join volgorde as v on p.peildatum = v.peildatum
inner join {{ ref('int_gemeenten') }} as g on p.gemeente_code = g.gemeente_code
left join {{ ref('stg_planregister__plannen') }} as vorig
    on v.vorige_peildatum = vorig.peildatum and p.plan_id = vorig.plan_id
