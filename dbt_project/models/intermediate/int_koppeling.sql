-- Linking registrations to urgent allocations: one procedure, so everyone gets the same answer
-- (spec/marts.md, "Linking"). Urgent allocations in order of (toewijzingsdatum, toewijzing_id) each take,
-- among the not yet taken granted registrations with a legal category, the same pseudonym and
-- besluitdatum <= toewijzingsdatum, the one with the latest besluitdatum (tie: not an advisory
-- committee such as an adviesteam first, then the lowest registratie_id). Per pseudonym the allocations are
-- taken one step of the recursion at a time.
with recursive toewijzingen as (
    select
        toewijzing_id,
        toewijzingsdatum,
        inschrijfnummer_pseudoniem as pseudoniem,
        row_number() over (
            partition by inschrijfnummer_pseudoniem order by toewijzingsdatum, toewijzing_id
        ) as volgnummer
    from {{ ref('int_toewijzingen') }}
    where is_urgent and inschrijfnummer_pseudoniem is not null
),

kandidaten as (
    select
        inschrijfnummer_pseudoniem as pseudoniem,
        list(
            { 'commissie': commissie, 'registratie_id': registratie_id, 'besluitdatum': besluitdatum }
            order by besluitdatum desc, is_advies asc, registratie_id asc
        ) as registraties
    from {{ ref('int_registraties') }}
    where besluit = 'toegekend' and wettelijk and inschrijfnummer_pseudoniem is not null
    group by inschrijfnummer_pseudoniem
),

stappen as (
    select
        k.pseudoniem,
        cast(0 as bigint) as volgnummer,
        cast([] as varchar[]) as genomen,
        cast(null as varchar) as toewijzing_id,
        cast(null as struct(commissie varchar, registratie_id varchar, besluitdatum date)) as keuze
    from kandidaten as k
    where k.pseudoniem in (select w.pseudoniem from toewijzingen as w)

    union all

    select
        pseudoniem,
        volgnummer,
        case
            when keuze is null then genomen
            else list_append(genomen, keuze.commissie || '/' || keuze.registratie_id)
        end as genomen,
        toewijzing_id,
        keuze
    from (
        select
            s.pseudoniem,
            t.volgnummer,
            s.genomen,
            t.toewijzing_id,
            list_filter(
                k.registraties,
                lambda x: x.besluitdatum <= t.toewijzingsdatum
                and not list_contains(s.genomen, x.commissie || '/' || x.registratie_id)
            )[1] as keuze
        from stappen as s
        inner join toewijzingen as t on s.pseudoniem = t.pseudoniem and t.volgnummer = s.volgnummer + 1
        inner join kandidaten as k on s.pseudoniem = k.pseudoniem
    ) as stap
)

select
    toewijzing_id,
    keuze.commissie,
    keuze.registratie_id
from stappen
where volgnummer > 0 and keuze is not null
