"""The upload form: the same options as manage.py ingest."""
from django import forms
from django.core.validators import RegexValidator

from ingest.services import MODES


class UploadForm(forms.Form):
    file = forms.FileField(label="Tệp / File (.zip, .gpkg, .geojson, .geojsonl, .kml, .kmz, .csv)")
    layer = forms.CharField(label="Lớp (mã) / Layer (slug)", max_length=64,
                            widget=forms.TextInput(attrs={"list": "layer-slugs"}),
                            validators=[RegexValidator(r"^[-a-z0-9_]+$", "Chỉ chữ thường, số, - và _ / Lower-case letters, digits, - and _ only.")])
    mode = forms.ChoiceField(label="Chế độ / Mode", choices=[(m, m) for m in MODES], initial="append")
    key = forms.CharField(label="Trường khóa (upsert, mirror) / Key field (upsert, mirror)", required=False, max_length=64)
    crs = forms.CharField(label="Hệ tọa độ nếu tệp không có / CRS if the file has none (EPSG:9210)", required=False, max_length=2000)
    encoding = forms.ChoiceField(label="Bảng mã / Text encoding", required=False,
                                 choices=[("", "theo tệp / from the file"), ("utf-8", "UTF-8"), ("cp1258", "Windows-1258"),
                                          ("tcvn3", "TCVN3 (ABC)")])
    source_layer = forms.CharField(label="Lớp trong tệp / Layer or dataset inside the file", required=False, max_length=200)
    column_map = forms.CharField(label="Đổi tên cột / Rename columns (src=dst, …)", required=False, max_length=2000)
    max_rejects = forms.IntegerField(label="Số dòng được phép từ chối / Rows that may be rejected", min_value=0, initial=0)
    dry_run = forms.BooleanField(label="Chỉ kiểm tra / Check only (change nothing)", required=False)
    not_personal = forms.CharField(
        label="Không coi là dữ liệu cá nhân / Not personal data (fields, comma-separated)", required=False, max_length=2000,
        help_text="Trường giống dữ liệu cá nhân (họ tên, CCCD, điện thoại…) được ẩn mặc định / "
                  "Fields that look personal (names, ID and phone numbers…) are hidden by default")

    def clean_not_personal(self) -> list[str]:
        return [name.strip() for name in self.cleaned_data["not_personal"].split(",") if name.strip()]

    def clean_column_map(self) -> dict[str, str]:
        text = self.cleaned_data["column_map"]
        pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
        if any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs):
            raise forms.ValidationError("Viết các cặp nguồn=đích, cách nhau bởi dấu phẩy / Write src=dst pairs separated by commas.")
        return {src.strip(): dst.strip() for src, dst in pairs}
