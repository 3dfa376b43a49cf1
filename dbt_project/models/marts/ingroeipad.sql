-- jaar x groep (the region's ingroeipad groups, seed ingroeipad_groepen), years from the first agreed year
-- ... year(data_tot): housed against the agreed path. afspraak is the agreed figure of the group, not the sum
-- of its gemeenten's published targets (these may differ by rounding; int_opgaven_reconciliatie reports it).
with groepen as (
    select g.gemeente_code, g.gemeente_naam, ig.groep
    from {{ ref('int_gemeenten') }} as g
    inner join {{ ref('ingroeipad_groepen') }} as ig on g.gemeente_code = ig.gemeente_code
),

afspraak as (
    select groep, cast(unnest(range(jaar_van, jaar_tot + 1)) as integer) as jaar, afspraak
    from {{ ref('ingroeipad_afspraak') }}
),

groep_namen as (
    select groep, string_agg(gemeente_naam, ', ' order by gemeente_naam) as groep_gemeenten
    from groepen
    group by groep
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
    n.groep_gemeenten,
    j.maanden_data,
    cast(coalesce(h.gehuisvest, 0) as bigint) as gehuisvest,
    cast(a.afspraak as integer) as afspraak,
    cast(a.afspraak * j.maanden_data / 12.0 as double) as afspraak_naar_rato,
    cast(coalesce(h.gehuisvest, 0) - a.afspraak * j.maanden_data / 12.0 as double) as verschil
from {{ ref('int_jaren') }} as j
inner join afspraak as a on j.jaar = a.jaar
left join gehuisvest as h on a.groep = h.groep and j.jaar = h.jaar
left join groep_namen as n on a.groep = n.groep
