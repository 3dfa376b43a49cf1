-- Urgency applications as they stood at P: an application after data_tot does not exist yet,
-- a decision dated after data_tot is still in_behandeling.
with categorieen as (
    select distinct urgentiecategorie, wettelijk from {{ ref('urgentiecategorieen') }}
)

select
    r.commissie,
    coalesce(c.commissie_code, r.commissie) as commissie_code,
    coalesce(c.soort = 'advies', false) as is_advies,
    r.registratie_id,
    r.aanvraagdatum,
    case when r.besluitdatum <= p.data_tot then r.besluitdatum end as besluitdatum,
    case
        when r.besluit = 'in_behandeling' then 'in_behandeling'
        when r.besluitdatum > p.data_tot then 'in_behandeling'
        else r.besluit
    end as besluit,
    r.afwijzingsgrond,
    r.urgentiecategorie,
    r.subcategorie,
    coalesce(k.wettelijk, false) as wettelijk,
    r.herkomstgemeente,
    r.contra_indicatie,
    r.geldig_tot,
    r.inschrijfnummer_pseudoniem
from {{ ref('stg_urgentie__registraties') }} as r
cross join {{ ref('int_peildatum') }} as p
-- One row per committee key: a committee serving several gemeenten never multiplies its registrations.
left join {{ ref('commissies') }} as c on r.commissie = c.commissie
left join categorieen as k on r.urgentiecategorie = k.urgentiecategorie
where r.aanvraagdatum <= p.data_tot
