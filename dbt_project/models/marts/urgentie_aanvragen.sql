-- commissie x jaar of aanvraagdatum: applications and their decisions as of P, and the time to decide.
with commissies as (
    select commissie_code, min(naam) as commissie_naam from {{ ref('commissies') }}
    group by commissie_code
),

jaren as (
    select unnest(range(cast(min(year(r.aanvraagdatum)) as integer), max(p.jaar_data_tot) + 1)) as jaar
    from {{ ref('int_registraties') }} as r
    cross join {{ ref('int_peildatum') }} as p
),

per_jaar as (
    select
        commissie_code,
        year(aanvraagdatum) as jaar,
        count(*) as aanvragen,
        count(*) filter (where besluit = 'toegekend') as toegekend,
        count(*) filter (where besluit = 'afgewezen') as afgewezen,
        count(*) filter (where besluit = 'ingetrokken') as ingetrokken,
        count(*) filter (where besluit = 'in_behandeling') as in_behandeling,
        median(besluitdatum - aanvraagdatum) filter (where besluit in ('toegekend', 'afgewezen'))
            as mediane_doorlooptijd_dagen
    from {{ ref('int_registraties') }}
    group by all
)

select
    c.commissie_code as commissie,
    c.commissie_code,
    c.commissie_naam,
    cast(j.jaar as integer) as jaar,
    cast(coalesce(a.aanvragen, 0) as bigint) as aanvragen,
    cast(coalesce(a.toegekend, 0) as bigint) as toegekend,
    cast(coalesce(a.afgewezen, 0) as bigint) as afgewezen,
    cast(coalesce(a.ingetrokken, 0) as bigint) as ingetrokken,
    cast(coalesce(a.in_behandeling, 0) as bigint) as in_behandeling,
    cast(100.0 * a.toegekend / nullif(a.toegekend + a.afgewezen, 0) as double) as toekenningspct,
    cast(a.mediane_doorlooptijd_dagen as double) as mediane_doorlooptijd_dagen
from commissies as c
cross join jaren as j
left join per_jaar as a on c.commissie_code = a.commissie_code and j.jaar = a.jaar
