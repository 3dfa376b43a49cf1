-- jaar x urgentiecategorie x herkomst x uitstroomgemeente: where urgent house seekers come from and are housed.
select
    u.jaar,
    u.urgentiecategorie,
    u.herkomst,
    coalesce(g.gemeente_naam, c.naam) as herkomst_naam,
    u.gemeente_code as uitstroomgemeente_code,
    w.gemeente_naam as uitstroomgemeente_naam,
    cast(count(*) as bigint) as aantal,
    u.herkomst = u.gemeente_code as is_terugkeer
from {{ ref('int_urgente_toewijzingen') }} as u
left join {{ ref('int_gemeenten') }} as g on u.herkomst = g.gemeente_code
left join {{ ref('codelijst') }} as c on c.domein = 'herkomst' and u.herkomst = c.code
left join {{ ref('int_gemeenten') }} as w on u.gemeente_code = w.gemeente_code
group by all
