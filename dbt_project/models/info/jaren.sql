-- The report years with their months of data, for the gate (a rent threshold for every year it needs).
select
    cast(jaar as integer) as jaar,
    cast(maanden_data as integer) as maanden_data
from {{ ref('int_jaren') }}
