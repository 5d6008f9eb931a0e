"""Post admin change forms the way a browser would: every field, inline and management form."""

from django.forms.formsets import BaseFormSet


def _form_fields(form, data: dict) -> None:
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        value = form.initial.get(name, field.initial)
        if callable(value):
            value = value()
        if value is None:
            continue
        if isinstance(value, list | tuple):
            data[key] = [getattr(v, "pk", v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[key] = "on"
        else:
            data[key] = getattr(value, "pk", value)


def _formset_fields(formset: BaseFormSet, data: dict) -> None:
    management = formset.management_form
    for name in management.fields:
        data[management.add_prefix(name)] = management.initial.get(name, 0)
    for form in formset.initial_forms:
        _form_fields(form, data)


def change_form_data(response, **changes) -> dict:
    """The data a browser would post back from an admin add/change page, with ``changes``."""
    data: dict = {}
    _form_fields(response.context["adminform"].form, data)
    for inline in response.context["inline_admin_formsets"]:
        _formset_fields(inline.formset, data)
    data.update(changes)
    return data
