{#- No two rows of a model share its grain: the columns of its `meta.grain` (the yml of its folder), so the
    grain is written once and this test, the report and Python (basics/manifest.py) all read that copy. -#}
{% test unique_grain(model) %}
{%- set grain = [] -%}
{%- if execute -%}
    {%- set nodes = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('alias', 'equalto', model.identifier) | selectattr('schema', 'equalto', model.schema) | list -%}
    {%- set grain = (nodes[0].config.meta.grain if nodes else none) or [] -%}
    {%- if not grain -%}
        {{ exceptions.raise_compiler_error('unique_grain on ' ~ model.identifier ~ ': the model has no meta.grain') }}
    {%- endif -%}
{%- endif %}
select {{ grain | join(', ') }}, count(*) as n
from {{ model }}
group by {{ grain | join(', ') }}
having count(*) > 1
{% endtest %}
