-- Loaded deliveries per source (and committee), for the peildatum and the gate.
select bron, commissie, leverdatum, pad, inhoud_hash, rijen_geladen, rijen_quarantaine
from {{ source('audit', 'bestanden_actueel') }}
where status = 'geladen'
