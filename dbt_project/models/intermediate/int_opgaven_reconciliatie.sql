-- Published targets per period against the agreed totals (region and per ingroeipad group).
with per_groep as (
    select
        o.periode,
        g.groep,
        sum(o.opgave) as som_opgaven
    from {{ ref('opgaven') }} as o
    inner join {{ ref('ingroeipad_groepen') }} as g on o.gemeente_code = g.gemeente_code
    group by all
),

vergelijking as (
    select p.periode, p.groep, p.som_opgaven, a.afspraak
    from per_groep as p
    inner join {{ ref('ingroeipad_afspraak') }} as a on p.periode = a.periode and p.groep = a.groep
    union all
    select p.periode, 'Regio' as groep, sum(p.som_opgaven) as som_opgaven, sum(a.afspraak) as afspraak
    from per_groep as p
    inner join {{ ref('ingroeipad_afspraak') }} as a on p.periode = a.periode and p.groep = a.groep
    group by all
)

select periode, groep, som_opgaven, afspraak, som_opgaven - afspraak as verschil
from vergelijking
