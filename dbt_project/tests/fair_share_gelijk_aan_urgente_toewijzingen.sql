-- Invariant: fair_share holds every urgent allocation of the agreement's gemeenten exactly once, counted
-- independently from staging (legal category, route not statushouder, up to data_tot).
with mart as (
    select gemeente_code, jaar, sum(gehuisvest + gehuisvest_buiten_afspraak) as aantal
    from {{ ref('fair_share') }}
    group by all
),

staging as (
    select t.gemeente_code, t.jaar, count(*) as aantal
    from {{ ref('stg_swev__toewijzingen') }} as t
    cross join {{ ref('int_peildatum') }} as p
    inner join {{ ref('gemeenten') }} as g on t.gemeente_code = g.gemeente_code and g.in_afspraak
    where t.toewijzingsdatum <= p.data_tot
        and t.toewijzingsroute <> 'statushouder'
        and t.urgentiecategorie in (select urgentiecategorie from {{ ref('urgentiecategorieen') }} where wettelijk)
    group by all
)

select *
from mart
full outer join staging using (gemeente_code, jaar)
where coalesce(mart.aantal, 0) <> coalesce(staging.aantal, 0)
