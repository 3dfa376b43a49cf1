-- commissie x jaar of besluitdatum x urgentiecategorie x subcategorie: granted urgencies, local ones included.
select
    commissie_code as commissie,
    cast(year(besluitdatum) as integer) as jaar,
    urgentiecategorie,
    subcategorie,
    wettelijk,
    cast(count(*) as bigint) as toegekend
from {{ ref('int_registraties') }}
where besluit = 'toegekend'
group by all
