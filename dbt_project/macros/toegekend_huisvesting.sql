{#- One row per granted legal-urgent registration as of P, with the urgent allocation that housed it, if any: the
    one rule of marts.doorlooptijd_huisvesting, also used by onderbouwing.doorlooptijd_huisvesting (a macro, so each
    model keeps its own refs and the mart's unit tests give the inputs of the rule itself).
    A registration is housed when the linking gave it an urgent allocation in any gemeente of the region, also one
    outside the agreement (the household was housed): the allocation is read from int_toewijzingen, not from the
    agreement's int_urgente_toewijzingen, and a gemeente outside the agreement is kept to be named. -#}
{% macro toegekend_huisvesting() %}
    select
        r.commissie,
        r.commissie_code,
        r.registratie_id,
        r.urgentiecategorie,
        r.subcategorie,
        r.besluitdatum,
        r.geldig_tot,
        r.inschrijfnummer_pseudoniem,
        k.toewijzing_id,
        k.toewijzingsdatum,
        k.gemeente_code,
        k.registratie_id is not null as gehuisvest,
        coalesce(k.buiten_afspraak, false) as buiten_afspraak,
        case when k.buiten_afspraak then k.gemeente_code end as gemeente_buiten_afspraak
    from {{ ref('int_registraties') }} as r
    left join (
        select
            kp.commissie,
            kp.registratie_id,
            t.toewijzing_id,
            t.toewijzingsdatum,
            t.gemeente_code,
            not t.in_scope as buiten_afspraak
        from {{ ref('int_koppeling') }} as kp
        inner join {{ ref('int_toewijzingen') }} as t on kp.toewijzing_id = t.toewijzing_id
    ) as k on r.commissie = k.commissie and r.registratie_id = k.registratie_id
    where r.besluit = 'toegekend' and r.wettelijk
{% endmacro %}
