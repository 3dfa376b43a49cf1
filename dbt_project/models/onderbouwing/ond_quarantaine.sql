{{ config(materialized='ephemeral') }}
-- Quarantined rows that were not loaded in another version (their key is not in staging), with what their
-- readable values say: the gemeente of the dwelling in the agreement, a legal category, the committee. A value
-- the row lacks or that could not be read leaves it out of the cells that need it.
with categorieen as (
    select distinct urgentiecategorie, wettelijk, lower(urgentiecategorie) as waarde
    from {{ ref('urgentiecategorieen') }}
    union
    select distinct urgentiecategorie, wettelijk, lower(omschrijving) as waarde
    from {{ ref('urgentiecategorieen') }}
)

select
    q.*,
    g.gemeente_code,
    c.urgentiecategorie as urgentiecategorie_code,
    coalesce(c.wettelijk, false) as wettelijk,
    k.commissie as registratie_commissie,
    k.commissie_code,
    -- the stored reason names the columns; in Dutch: which column(s) of the file held the problem
    'in quarantaine (rij niet ingelezen): fout in kolom ' || array_to_string(q.koppen, ', ') as reden_nl
from {{ ref('stg_audit__quarantaine') }} as q
left join {{ ref('int_gemeenten') }} as g on q.gemeente = g.gemeente_code
left join categorieen as c on lower(trim(q.urgentiecategorie)) = c.waarde
left join {{ ref('commissies') }} as k on coalesce(q.commissie, q.bestand_commissie) = k.commissie
where
    (
        q.bron = 'swev' and (q.toewijzing_id is null or not exists (
            select 1 from {{ ref('stg_swev__toewijzingen') }} as s
            where s.toewijzing_id = q.toewijzing_id
        ))
    )
    or (
        q.bron = 'urgentie' and (q.registratie_id is null or not exists (
            select 1 from {{ ref('stg_urgentie__registraties') }} as r
            where r.commissie = coalesce(q.commissie, q.bestand_commissie) and r.registratie_id = q.registratie_id
        ))
    )
-- A cumulative delivery repeats a bad row: the latest delivery's copy stands for it (as for loaded rows).
qualify coalesce(q.toewijzing_id, q.registratie_id) is null or rank() over (
    partition by q.bron, coalesce(q.commissie, q.bestand_commissie), coalesce(q.toewijzing_id, q.registratie_id)
    order by q.leverdatum desc
) = 1
