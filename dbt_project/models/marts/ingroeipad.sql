-- jaar x groep (Amersfoort | Overige gemeenten), years 2025 ... year(data_tot): housed against the agreed path.
-- afspraak for the other gemeenten is the agreed 92 / 119, not the sum of their targets (93 / 118).
with groepen as (
    select
        gemeente_code,
        case when gemeente_naam = 'Amersfoort' then 'Amersfoort' else 'Overige gemeenten' end as groep
    from {{ ref('int_gemeenten') }}
),

afspraak as (
    select groep, cast(unnest(range(jaar_van, jaar_tot + 1)) as integer) as jaar, afspraak
    from {{ ref('ingroeipad_afspraak') }}
),

gehuisvest as (
    select g.groep, f.jaar, sum(f.gehuisvest) as gehuisvest
    from {{ ref('fair_share') }} as f
    inner join groepen as g on f.gemeente_code = g.gemeente_code
    group by all
)

select
    j.jaar,
    a.groep,
    j.maanden_data,
    cast(coalesce(h.gehuisvest, 0) as bigint) as gehuisvest,
    cast(a.afspraak as integer) as afspraak,
    cast(a.afspraak * j.maanden_data / 12.0 as double) as afspraak_naar_rato,
    cast(coalesce(h.gehuisvest, 0) - a.afspraak * j.maanden_data / 12.0 as double) as verschil
from {{ ref('int_jaren') }} as j
inner join afspraak as a on j.jaar = a.jaar
left join gehuisvest as h on a.groep = h.groep and j.jaar = h.jaar
