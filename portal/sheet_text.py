"""The sheet's and the verification page's words in Vietnamese and English, and numbers and dates as each writes
them (vi/en pairs in code, like DomainError messages: a document's wording is fixed, not left to a catalogue)."""
import datetime as dt

from django.utils import timezone

WORDS = {
    "title": ("PHIẾU THÔNG TIN QUY HOẠCH", "PLANNING INFORMATION SHEET"),
    "subtitle": ("Thông tin quy hoạch xây dựng của thửa đất", "Zoning information for a land parcel"),
    "key": ("Thửa đất", "Parcel"),
    "parcel_no": ("Thửa đất số", "Parcel no."),
    "map_sheet": ("Tờ bản đồ số", "Map sheet no."),
    "former_ward": ("Phường/xã (trước 01/07/2025)", "Ward (before 1 July 2025)"),
    "current_unit": ("Đơn vị hành chính hiện nay", "Current administrative unit"),
    "area": ("Diện tích pháp lý", "Legal area"),
    "area_note": ("tính trên mặt phẳng VN-2000 / TM-3 105°45′", "plane area in VN-2000 / TM-3 105°45′"),
    "land_use": ("Loại đất", "Land use"),
    "address": ("Địa chỉ", "Address"),
    "map": ("Sơ đồ thửa đất và các thửa liền kề", "The parcel and its neighbours"),
    "legend": ("Viền đỏ: thửa đất; nét đứt: ranh khu chức năng quy hoạch; gạch chéo đỏ: lộ giới; số đỏ: đỉnh thửa.",
               "Red outline: the parcel; dashed: planning zone limits; red hatching: road reserve; red numbers: corners."),
    "corners": ("Tọa độ đỉnh thửa (VN-2000, kinh tuyến trục 105°45′, múi chiếu 3°)",
                "Corner coordinates (VN-2000, central meridian 105°45′, 3° zone)"),
    "point": ("Điểm", "Point"), "x": ("X (m)", "X (m)"), "y": ("Y (m)", "Y (m)"), "edge": ("Cạnh (m)", "Edge (m)"),
    "zones": ("Quy hoạch phân khu tỷ lệ 1/2000", "Zoning plan 1/2000"),
    "zone": ("Ô quy hoạch", "Zone"), "function": ("Chức năng", "Function"),
    "zone_area": ("Diện tích (m²)", "Area (m²)"), "share": ("Tỷ lệ", "Share"),
    "density": ("Mật độ XD tối đa", "Max density"), "floors": ("Tầng cao tối đa", "Max floors"),
    "far": ("Hệ số SDĐ", "FAR"),
    "floor_area": ("Tổng diện tích sàn tối đa được phép", "Maximum floor area allowed"),
    "by_far": ("theo hệ số sử dụng đất: S × hệ số SDĐ", "by floor-area ratio: S × FAR"),
    "by_density": ("theo mật độ × tầng cao: S × mật độ × tầng cao", "by density × floors: S × density × floors"),
    "binds_far": ("hệ số sử dụng đất là giới hạn chặt hơn", "the floor-area ratio binds"),
    "binds_density": ("mật độ × tầng cao là giới hạn chặt hơn", "density × floors binds"),
    "not_set": ("chưa có chỉ tiêu", "not set"),
    "total_floor_area": ("Tổng diện tích sàn tối đa trên thửa (cộng các phần)", "Maximum floor area on the parcel (sum of the parts)"),
    "partial_total": ("chỉ tính các phần có chỉ tiêu", "only the parts with indicators"),
    "no_zones": ("Chưa có đồ án quy hoạch được công bố phủ thửa đất này.", "No published zoning plan covers this parcel."),
    "zones_hidden": ("không có thông tin (lớp dữ liệu không công khai)", "not available (restricted layer)"),
    "road_reserve": ("Diện tích trong lộ giới", "Area inside road reserves"),
    "not_available": ("không có thông tin", "not available"),
    "plans": ("Đồ án quy hoạch", "Zoning plan"), "plan_name": ("Tên đồ án", "Plan"),
    "decision": ("Quyết định phê duyệt số", "Approved by decision no."), "decision_date": ("ngày", "of"),
    "versions": ("Phiên bản dữ liệu", "Data versions"),
    "features_used": ("đối tượng dùng", "features used"), "changed": ("cập nhật", "changed"),
    "as_of": ("Dữ liệu tại thời điểm", "Data as of"), "issued": ("Thời điểm cấp phiếu", "Issued at"),
    "verify": ("Xác minh phiếu", "Verify this sheet"),
    "verify_hint": ("Quét mã QR hoặc nhập mã tại", "Scan the QR code or enter the code at"),
    "code": ("Mã xác minh", "Verification code"),
    "disclaimer": ("Phiếu này là thông tin tham khảo, không phải văn bản pháp lý và không thay thế chứng chỉ quy hoạch "
                   "hay giấy chứng nhận quyền sử dụng đất. Nguồn: cơ sở dữ liệu không gian của Thành phố Hồ Chí Minh "
                   "(dữ liệu địa chính và quy hoạch do cơ quan quản lý cung cấp). Diện tích, tọa độ tính trên hệ VN-2000.",
                   "This sheet is information, not a legal document; it does not replace a planning certificate or a land "
                   "use right certificate. Source: Ho Chi Minh City's spatial data portal (cadastral and planning data from "
                   "the managing authorities). Areas and coordinates are computed in VN-2000."),
    "layer_parcels": ("Thửa đất", "Parcels"), "layer_planning-zones": ("Quy hoạch phân khu", "Planning zones"),
    "layer_road-reserves": ("Lộ giới", "Road reserves"), "layer_admin-units": ("Đơn vị hành chính", "Administrative units"),
    "north": ("B", "N"),
}


def words(language: str) -> dict[str, str]:
    """Every word of the sheet in one language ('vi' or 'en')."""
    index = 1 if language.startswith("en") else 0
    return {key: pair[index] for key, pair in WORDS.items()}


def number(value, language: str, digits: int = 1) -> str:
    """1.234,5 in Vietnamese, 1,234.5 in English; '—' for None."""
    if value is None:
        return "—"
    text = f"{float(value):,.{digits}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".") if not language.startswith("en") else text


def moment(value: dt.datetime | str | None, language: str) -> str:
    """A time as the city reads it: 05/12/2026 14:30:12 (vi) or 5 Dec 2026 14:30:12 (en), Ho Chi Minh City time."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    local = timezone.localtime(value)
    return local.strftime("%d/%m/%Y %H:%M:%S") if not language.startswith("en") else \
        f"{local.day} {local.strftime('%b %Y %H:%M:%S')}"


def day(value: str | None, language: str) -> str:
    """An ISO date of a decision as each language writes it."""
    if not value:
        return "—"
    try:
        date = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return date.strftime("%d/%m/%Y") if not language.startswith("en") else f"{date.day} {date.strftime('%b %Y')}"


VERIFY_WORDS = {
    "page_title": ("Xác minh phiếu thông tin quy hoạch", "Verify a planning information sheet"),
    "enter": ("Nhập mã xác minh in trên phiếu", "Enter the verification code printed on the sheet"),
    "check": ("Xác minh", "Verify"),
    "genuine": ("Phiếu này do cổng thông tin cấp.", "This sheet was issued by the portal."),
    "unchanged": ("Dữ liệu không thay đổi kể từ khi cấp phiếu: thông tin trên phiếu vẫn đúng với dữ liệu hiện nay.",
                  "The data has not changed since the sheet was issued: what it says still matches the data now."),
    "changed": ("Dữ liệu đã thay đổi kể từ khi cấp phiếu. Phần thay đổi:",
                "The data has changed since the sheet was issued. What changed:"),
    "hidden_changed": ("một phần bạn không có quyền xem", "a part you may not view"),
    "parcel_gone": ("Thửa đất này không còn trong dữ liệu hiện nay.", "This parcel is no longer in the data."),
    "tampered": ("Nội dung lưu của phiếu không khớp mã băm: hãy liên hệ cơ quan quản lý.",
                 "The sheet's stored content does not match its hash: contact the managing authority."),
    "withheld": ("Một số phần của phiếu dùng dữ liệu không công khai và không hiển thị cho bạn:",
                 "Parts of this sheet use restricted data and are not shown to you:"),
    "what_it_said": ("Nội dung phiếu đã cấp", "What the sheet said"),
    "hash": ("Mã băm nội dung (SHA-256)", "Content hash (SHA-256)"),
    "reissue": ("Tải lại phiếu đúng như khi cấp (PDF)", "Download the sheet as issued (PDF)"),
    "current_page": ("Xem thông tin thửa đất hiện nay", "See the parcel's information now"),
    "language": ("Ngôn ngữ phiếu", "Sheet language"),
    "total": ("Tổng diện tích sàn tối đa", "Maximum floor area"),
}


def verify_words(language: str) -> dict[str, str]:
    """The verification page's words in one language, with the sheet's own."""
    index = 1 if language.startswith("en") else 0
    return {**words(language), **{key: pair[index] for key, pair in VERIFY_WORDS.items()}}
