-- commissie x jaar of besluitdatum x urgentiecategorie x subcategorie: granted urgencies, local ones included.
with commissie_namen as (
    -- one name per committee code (a code shared by two keys must not split a row)
    select commissie_code, min(naam) as naam from {{ ref('commissies') }}
    group by commissie_code
)

select
    r.commissie_code as commissie,
    r.commissie_code,
    coalesce(c.naam, r.commissie_code) as commissie_naam,
    cast(year(r.besluitdatum) as integer) as jaar,
    r.urgentiecategorie,
    r.subcategorie,
    r.wettelijk,
    cast(count(*) as bigint) as toegekend
from {{ ref('int_registraties') }} as r
left join commissie_namen as c on r.commissie_code = c.commissie_code
where r.besluit = 'toegekend'
group by all
