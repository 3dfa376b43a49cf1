-- commissie x jaar of besluitdatum x afwijzingsgrond: refused applications by reason (a code; the text is never stored).
select
    commissie_code as commissie,
    cast(year(besluitdatum) as integer) as jaar,
    afwijzingsgrond,
    cast(count(*) as bigint) as afgewezen
from {{ ref('int_registraties') }}
where besluit = 'afgewezen'
group by all
