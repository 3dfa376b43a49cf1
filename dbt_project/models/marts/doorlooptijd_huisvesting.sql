-- commissie x jaar of besluitdatum x wettelijke categorie: from granted urgency to a home.
with toegekend as (
    select
        r.commissie_code,
        r.urgentiecategorie,
        r.besluitdatum,
        r.geldig_tot,
        u.toewijzingsdatum,
        u.toewijzing_id is not null as gehuisvest
    from {{ ref('int_registraties') }} as r
    left join {{ ref('int_urgente_toewijzingen') }} as u
        on r.commissie = u.gekoppelde_commissie and r.registratie_id = u.gekoppelde_registratie_id
    where r.besluit = 'toegekend' and r.wettelijk
)

select
    t.commissie_code as commissie,
    cast(year(t.besluitdatum) as integer) as jaar,
    t.urgentiecategorie,
    cast(count(*) as bigint) as toegekend,
    cast(count(*) filter (where t.gehuisvest) as bigint) as gehuisvest,
    cast(count(*) filter (where t.gehuisvest and t.toewijzingsdatum - t.besluitdatum <= 183) as bigint)
        as binnen_6_maanden,
    cast(median(t.toewijzingsdatum - t.besluitdatum) filter (where t.gehuisvest) as double) as mediane_wachttijd_dagen,
    cast(count(*) filter (where not t.gehuisvest and (t.geldig_tot is null or t.geldig_tot >= p.data_tot)) as bigint)
        as nog_wachtend,
    cast(count(*) filter (where not t.gehuisvest and t.geldig_tot < p.data_tot) as bigint) as verlopen
from toegekend as t
cross join {{ ref('int_peildatum') }} as p
group by all
