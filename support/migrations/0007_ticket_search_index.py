from django.db import migrations

from core.search import search_index_operations


class Migration(migrations.Migration):
    dependencies = [("support", "0006_ticket_urgency_key")]

    operations = search_index_operations("support.Ticket", "support_ticket_search", "title")
