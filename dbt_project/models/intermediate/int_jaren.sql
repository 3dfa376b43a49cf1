-- Report years: from the first allocation year up to year(data_tot), with the months of data in each.
with eerste as (
    select cast(min(t.jaar) as integer) as eerste_jaar
    from {{ ref('stg_swev__toewijzingen') }} as t
    cross join {{ ref('int_peildatum') }} as p
    where t.toewijzingsdatum <= p.data_tot
),

jaren as (
    select
        p.jaar_data_tot,
        p.data_tot,
        unnest(range(e.eerste_jaar, p.jaar_data_tot + 1)) as jaar
    from {{ ref('int_peildatum') }} as p
    cross join eerste as e
)

select
    cast(jaar as integer) as jaar,
    cast(case when jaar < jaar_data_tot then 12 else month(data_tot) end as integer) as maanden_data
from jaren
