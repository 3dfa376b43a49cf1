-- jaar x urgentiecategorie x herkomst x uitstroomgemeente: where urgent house seekers come from and are housed.
select
    u.jaar,
    u.urgentiecategorie,
    u.herkomst,
    case
        when u.herkomst = 'buiten_regio' then 'Buiten de regio'
        when u.herkomst = 'onbekend' then 'Onbekend'
        else g.gemeente_naam
    end as herkomst_naam,
    u.gemeente_code as uitstroomgemeente_code,
    cast(count(*) as bigint) as aantal,
    u.herkomst = u.gemeente_code as is_terugkeer
from {{ ref('int_urgente_toewijzingen') }} as u
left join {{ ref('int_gemeenten') }} as g on u.herkomst = g.gemeente_code
group by all
