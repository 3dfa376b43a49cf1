-- The peildatum P of the marts and data_tot = P - 1 day, for Python (the gate, the report, history, publication).
select
    cast(peildatum as date) as peildatum,
    cast(data_tot as date) as data_tot,
    cast(jaar_data_tot as integer) as jaar_data_tot
from {{ ref('int_peildatum') }}
