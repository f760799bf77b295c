"""Thu Duc's 34 former wards (before 1 July 2025) and the 12 wards they became.

Names and codes follow the national statistics office's list; centroids are approximate and only
seed the generated boundaries. The demo assigns each former ward wholly to one new ward (the real
2025 merger split a few of them between two).
"""
from datetime import date

CITY = {"code": "769", "name": "Thành phố Thủ Đức", "parent_code": "79"}
REFORM_DATE = date(2025, 7, 1)
CITY_FORMED = date(2021, 1, 1)

# (code, name, lon, lat, new ward code)
FORMER_WARDS = [
    ("26794", "Linh Xuân", 106.772, 10.880, "26794"),
    ("26797", "Bình Chiểu", 106.728, 10.882, "26797"),
    ("26800", "Linh Trung", 106.786, 10.865, "26794"),
    ("26803", "Tam Bình", 106.737, 10.866, "26797"),
    ("26806", "Tam Phú", 106.745, 10.853, "26797"),
    ("26809", "Hiệp Bình Phước", 106.720, 10.848, "26812"),
    ("26812", "Hiệp Bình Chánh", 106.727, 10.830, "26812"),
    ("26815", "Linh Chiểu", 106.764, 10.853, "26824"),
    ("26818", "Linh Tây", 106.757, 10.862, "26824"),
    ("26821", "Linh Đông", 106.748, 10.842, "26812"),
    ("26824", "Bình Thọ", 106.771, 10.846, "26824"),
    ("26827", "Trường Thọ", 106.757, 10.831, "26824"),
    ("26830", "Long Bình", 106.845, 10.887, "26833"),
    ("26833", "Long Thạnh Mỹ", 106.822, 10.852, "26833"),
    ("26836", "Tân Phú", 106.803, 10.862, "26842"),
    ("26839", "Hiệp Phú", 106.779, 10.848, "26842"),
    ("26842", "Tăng Nhơn Phú A", 106.793, 10.843, "26842"),
    ("26845", "Tăng Nhơn Phú B", 106.787, 10.829, "26842"),
    ("26848", "Phước Long B", 106.779, 10.812, "26848"),
    ("26851", "Phước Long A", 106.764, 10.822, "26848"),
    ("26854", "Trường Thạnh", 106.826, 10.814, "26857"),
    ("26857", "Long Phước", 106.862, 10.812, "26857"),
    ("26860", "Long Trường", 106.816, 10.797, "26860"),
    ("26863", "Phước Bình", 106.771, 10.818, "26848"),
    ("26866", "Phú Hữu", 106.797, 10.787, "26860"),
    ("27088", "Thảo Điền", 106.734, 10.806, "27118"),
    ("27091", "An Phú", 106.752, 10.800, "27118"),
    ("27094", "An Khánh", 106.724, 10.789, "27118"),
    ("27097", "Bình Trưng Đông", 106.777, 10.786, "27097"),
    ("27100", "Bình Trưng Tây", 106.760, 10.787, "27097"),
    ("27106", "Cát Lái", 106.788, 10.770, "27112"),
    ("27112", "Thạnh Mỹ Lợi", 106.764, 10.769, "27112"),
    ("27115", "An Lợi Đông", 106.733, 10.771, "27118"),
    ("27118", "Thủ Thiêm", 106.719, 10.776, "27118"),
]

# The wards of Ho Chi Minh City that replaced them on 1 July 2025 (parent: the city, code 79).
NEW_WARDS = {
    "26794": "Linh Xuân",
    "26797": "Tam Bình",
    "26812": "Hiệp Bình",
    "26824": "Thủ Đức",
    "26833": "Long Bình",
    "26842": "Tăng Nhơn Phú",
    "26848": "Phước Long",
    "26857": "Long Phước",
    "26860": "Long Trường",
    "27097": "Bình Trưng",
    "27112": "Cát Lái",
    "27118": "An Khánh",
}

# Main roads carry real names; the others are numbered as HCMC's new streets are.
MAIN_ROADS = [
    "Xa lộ Hà Nội", "Võ Văn Ngân", "Mai Chí Thọ", "Đỗ Xuân Hợp", "Kha Vạn Cân", "Phạm Văn Đồng",
    "Nguyễn Duy Trinh", "Lê Văn Việt", "Nguyễn Thị Định", "Lương Định Của", "Quốc Hương", "Tô Ngọc Vân",
    "Lê Văn Thịnh", "Nguyễn Xiển", "Hoàng Diệu 2", "Đặng Văn Bi", "Lã Xuân Oai", "Bưng Ông Thoàn",
]
