"""The report pages' words, Vietnamese first, in code (vi/en pairs as DomainError messages are): no gettext."""
from portal.language import english

TEXTS = {
    "form_title": ("Phản ánh sai sót dữ liệu", "Report wrong data"),
    "form_lead": ("Thấy thông tin thửa đất, quy hoạch hay địa chỉ chưa đúng? Hãy cho chúng tôi biết. Không cần "
                  "tài khoản. Nội dung chỉ được công khai sau khi cán bộ kiểm duyệt; thông tin liên hệ không bao giờ "
                  "được công khai.",
                  "Is a parcel, plan or address shown wrongly? Tell us. No account is needed. Your text is made "
                  "public only after an officer has reviewed it; your contact details never are."),
    "target": ("Đối tượng phản ánh", "What you report on"),
    "place": ("Vị trí", "Place"),
    "parcel": ("Trang thửa đất", "The parcel's page"),
    "place_help": ("Chạm vào bản đồ để chọn vị trí, hoặc nhập kinh độ và vĩ độ.",
                   "Tap the map to choose the place, or type the longitude and latitude."),
    "lon": ("Kinh độ", "Longitude"), "lat": ("Vĩ độ", "Latitude"),
    "category": ("Loại sai sót", "What is wrong"),
    "text": ("Mô tả", "Description"),
    "text_help": ("Tối đa 2000 ký tự.", "At most 2000 characters."),
    "photo": ("Ảnh (không bắt buộc)", "Photo (optional)"),
    "photo_help": ("JPEG, PNG hoặc WebP, tối đa 5 MB. Thông tin vị trí và thiết bị trong ảnh sẽ được xóa.",
                   "JPEG, PNG or WebP, at most 5 MB. Location and camera data in the photo are removed."),
    "contact": ("Số điện thoại hoặc e-mail (không bắt buộc)", "Phone or e-mail (optional)"),
    "contact_help": ("Chỉ cán bộ được phép mới thấy, để liên hệ lại khi cần.",
                     "Seen only by authorised officers, to contact you if needed."),
    "honeypot": ("Đừng điền ô này", "Leave this empty"),
    "send": ("Gửi phản ánh", "Send report"),
    "receipt": ("Đã nhận phản ánh của bạn. Mã tiếp nhận:", "Your report was received. Receipt code:"),
    "receipt_help": ("Hãy ghi lại mã này để theo dõi phản ánh tại trang này.",
                     "Keep this code to follow your report on this page."),
    "status_title": ("Phản ánh", "Report"),
    "status": ("Trạng thái", "Status"),
    "filed": ("Ngày gửi", "Sent on"),
    "answered": ("Ngày trả lời", "Answered on"),
    "ward": ("Phường", "Ward"),
    "answer": ("Trả lời của cơ quan", "The office's answer"),
    "your_text": ("Nội dung phản ánh", "The report"),
    "text_hidden": ("Nội dung sẽ được hiển thị sau khi cán bộ kiểm duyệt.",
                    "The text is shown once an officer has reviewed it."),
    "fixed": ("Đã sửa bằng", "Fixed by"),
    "version": ("phiên bản", "version"),
    "feature": ("đối tượng", "feature"),
    "history": ("Xem lịch sử thay đổi", "See the change history"),
    "follow": ("Tra cứu phản ánh theo mã", "Look up a report by its code"),
    "code": ("Mã tiếp nhận", "Receipt code"),
    "open": ("Xem", "Open"),
    "stats_title": ("Thống kê phản ánh", "Reports in numbers"),
    "stats_lead": ("Số phản ánh theo phường và loại sai sót (không có nội dung hay thông tin cá nhân).",
                   "Reports by ward and category (no text, no personal data)."),
    "count": ("Số lượng", "Count"),
    "total": ("Tổng", "Total"),
    "none": ("Chưa có phản ánh nào.", "No reports yet."),
    "queue_title": ("Phản ánh cần xử lý", "Reports to moderate"),
    "queue_empty": ("Không có phản ánh nào trong phạm vi bạn phụ trách.", "No reports in the area you moderate."),
    "all": ("Tất cả", "All"),
    "filter": ("Lọc", "Filter"),
    "action": ("Xử lý", "Action"),
    "publish": ("Công khai nội dung phản ánh", "Publish the report's text"),
    "fixed_layer": ("Lớp đã sửa", "Layer fixed"), "fixed_feature": ("Số hiệu đối tượng", "Feature id"),
    "fixed_version": ("Phiên bản đã sửa", "Version that fixed it"),
    "save": ("Lưu", "Save"),
    "contact_hidden": ("(cần quyền xem dữ liệu cá nhân)", "(needs a personal-data grant)"),
    "outside": ("ngoài phường", "no ward"),
    "stats_link": ("Thống kê phản ánh", "Reports in numbers"),
}


def texts() -> dict[str, str]:
    """The words in the page's language."""
    index = 1 if english() else 0
    return {key: pair[index] for key, pair in TEXTS.items()}


def choice_label(label: str) -> str:
    """'Vietnamese / English' choice labels in the page's language."""
    vi, _, en = label.partition(" / ")
    return (en or vi) if english() else vi
