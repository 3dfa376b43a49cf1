-- Urgent allocations in the gemeenten of the agreement with their linked registration and herkomst:
-- the allocation's own herkomstgemeente; where that is onbekend and it is linked, the registration's.
-- Gemeenten outside the agreement (in the region or not) count as buiten_regio.
with gekoppeld as (
    select
        t.*,
        k.commissie as gekoppelde_commissie,
        k.registratie_id as gekoppelde_registratie_id,
        r.besluitdatum as gekoppelde_besluitdatum,
        r.herkomstgemeente as registratie_herkomst,
        coalesce(r.contra_indicatie, false) as contra_indicatie
    from {{ ref('int_toewijzingen') }} as t
    left join {{ ref('int_koppeling') }} as k on t.toewijzing_id = k.toewijzing_id
    left join {{ ref('int_registraties') }} as r
        on k.commissie = r.commissie and k.registratie_id = r.registratie_id
    where t.is_urgent and t.in_scope
),

herkomst as (
    select
        *,
        case
            when coalesce(herkomstgemeente, 'onbekend') = 'onbekend' and gekoppelde_registratie_id is not null
                then coalesce(registratie_herkomst, 'onbekend')
            else coalesce(herkomstgemeente, 'onbekend')
        end as herkomst_ruw
    from gekoppeld
)

-- (EXCLUDE names a column of h: sqlfluff reads it as an unqualified reference)
select
    h.* exclude (herkomst_ruw),  -- noqa: RF02
    case
        when h.herkomst_ruw in ('onbekend', 'buiten_regio') then h.herkomst_ruw
        when g.gemeente_code is not null then h.herkomst_ruw
        else 'buiten_regio'
    end as herkomst,
    h.gekoppelde_registratie_id is not null as is_gekoppeld
from herkomst as h
left join {{ ref('int_gemeenten') }} as g on h.herkomst_ruw = g.gemeente_code
