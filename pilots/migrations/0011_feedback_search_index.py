from django.db import migrations

from core.search import search_index_operations


class Migration(migrations.Migration):
    dependencies = [("pilots", "0010_report_comment_indexes")]

    operations = search_index_operations("pilots.Feedback", "pilots_feedback_search", "comment")
