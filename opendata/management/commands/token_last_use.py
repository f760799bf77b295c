"""manage.py token_last_use: copies the tokens' last use from Redis into the database (run it now and then)."""
from django.core.management.base import BaseCommand

from opendata.services import api_token_last_use_save


class Command(BaseCommand):
    help = "Lưu thời điểm dùng mã API gần nhất từ Redis vào cơ sở dữ liệu / Save API tokens' last use from Redis."

    def handle(self, *args, **options) -> None:
        changed = api_token_last_use_save()
        self.stdout.write(f"{changed} mã API được cập nhật / {changed} tokens updated.")
