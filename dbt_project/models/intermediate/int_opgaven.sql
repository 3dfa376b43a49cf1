-- Annual target per gemeente, legal category and year (one row per year of each published period).
select
    gemeente_code,
    cast(unnest(range(jaar_van, jaar_tot + 1)) as integer) as jaar,
    urgentiecategorie,
    opgave,
    periode
from {{ ref('opgaven') }}
