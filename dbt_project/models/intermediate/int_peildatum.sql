-- The peildatum P the marts are computed as of, and data_tot = P - 1 day (spec/marts.md, "Time").
-- P: var('peildatum'), else the latest 1 April or 1 November on or before the latest extraction date of the
-- allocations (source key 'swev', the raw source's own name).
with laatste as (
    select max(leverdatum) as leverdatum
    from {{ ref('stg_audit__leveringen') }}
    where bron = 'swev'
),

gekozen as (
    select
        {% if var('peildatum') %}
            cast('{{ var("peildatum") }}' as date) as peildatum
        {% else %}
            case
                when leverdatum >= make_date(year(leverdatum), 11, 1) then make_date(year(leverdatum), 11, 1)
                when leverdatum >= make_date(year(leverdatum), 4, 1) then make_date(year(leverdatum), 4, 1)
                else make_date(year(leverdatum) - 1, 11, 1)
            end as peildatum
        {% endif %}
    from laatste
)

select
    peildatum,
    cast(peildatum - interval 1 day as date) as data_tot,
    cast(year(peildatum - interval 1 day) as integer) as jaar_data_tot
from gekozen
