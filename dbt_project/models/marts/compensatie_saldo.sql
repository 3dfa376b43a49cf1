-- gemeente x jaar from 2025: cumulative housed minus cumulative target naar rato (positive = more than its share).
with per_jaar as (
    select gemeente_code, gemeente_naam, jaar, gehuisvest, opgave_naar_rato
    from {{ ref('fair_share_gemeente') }}
    where opgave is not null
)

select
    gemeente_code,
    gemeente_naam,
    jaar,
    cast(sum(gehuisvest) over w as bigint) as cumulatief_gehuisvest,
    cast(sum(opgave_naar_rato) over w as double) as cumulatief_opgave_naar_rato,
    cast(sum(gehuisvest) over w - sum(opgave_naar_rato) over w as double) as saldo
from per_jaar
window w as (partition by gemeente_code order by jaar rows between unbounded preceding and current row)
