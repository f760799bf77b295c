"""Thu Duc's 34 former wards (before 1 July 2025) and the 12 wards they became.

Names and codes follow the national statistics office's list; which new ward(s) each former ward became
comes from the reviewed crosswalk (layers/data/ward_crosswalk_2025.csv): four former wards were split
between two new wards, and the demo divides them too. Centroids are approximate and only seed the
generated boundaries.
"""
from datetime import date

from layers import crosswalk

CITY = {"code": "769", "name": "Thành phố Thủ Đức", "parent_code": "79"}
REFORM_DATE = date(2025, 7, 1)
CITY_FORMED = date(2021, 1, 1)

# (code, name, lon, lat)
FORMER_WARDS = [
    ("26794", "Linh Xuân", 106.772, 10.880),
    ("26797", "Bình Chiểu", 106.728, 10.882),
    ("26800", "Linh Trung", 106.786, 10.865),
    ("26803", "Tam Bình", 106.737, 10.866),
    ("26806", "Tam Phú", 106.745, 10.853),
    ("26809", "Hiệp Bình Phước", 106.720, 10.848),
    ("26812", "Hiệp Bình Chánh", 106.727, 10.830),
    ("26815", "Linh Chiểu", 106.764, 10.853),
    ("26818", "Linh Tây", 106.757, 10.862),
    ("26821", "Linh Đông", 106.748, 10.842),
    ("26824", "Bình Thọ", 106.771, 10.846),
    ("26827", "Trường Thọ", 106.757, 10.831),
    ("26830", "Long Bình", 106.845, 10.887),
    ("26833", "Long Thạnh Mỹ", 106.822, 10.852),
    ("26836", "Tân Phú", 106.803, 10.862),
    ("26839", "Hiệp Phú", 106.779, 10.848),
    ("26842", "Tăng Nhơn Phú A", 106.793, 10.843),
    ("26845", "Tăng Nhơn Phú B", 106.787, 10.829),
    ("26848", "Phước Long B", 106.779, 10.812),
    ("26851", "Phước Long A", 106.764, 10.822),
    ("26854", "Trường Thạnh", 106.826, 10.814),
    ("26857", "Long Phước", 106.862, 10.812),
    ("26860", "Long Trường", 106.816, 10.797),
    ("26863", "Phước Bình", 106.771, 10.818),
    ("26866", "Phú Hữu", 106.797, 10.787),
    ("27088", "Thảo Điền", 106.734, 10.806),
    ("27091", "An Phú", 106.752, 10.800),
    ("27094", "An Khánh", 106.724, 10.789),
    ("27097", "Bình Trưng Đông", 106.777, 10.786),
    ("27100", "Bình Trưng Tây", 106.760, 10.787),
    ("27109", "Cát Lái", 106.788, 10.770),
    ("27112", "Thạnh Mỹ Lợi", 106.764, 10.769),
    ("27115", "An Lợi Đông", 106.733, 10.771),
    ("27118", "Thủ Thiêm", 106.719, 10.776),
]

# The wards of Ho Chi Minh City that replaced them on 1 July 2025 (parent: the city, code 79): code -> name.
NEW_WARDS = crosswalk.new_wards()
# Former ward code -> the new ward code(s) it went to, the main one first (two for a split ward).
SUCCESSORS = {row.former_code: tuple(s.code for s in row.successors) for row in crosswalk.rows()}

# Main roads carry real names; the others are numbered as HCMC's new streets are.
MAIN_ROADS = [
    "Xa lộ Hà Nội", "Võ Văn Ngân", "Mai Chí Thọ", "Đỗ Xuân Hợp", "Kha Vạn Cân", "Phạm Văn Đồng",
    "Nguyễn Duy Trinh", "Lê Văn Việt", "Nguyễn Thị Định", "Lương Định Của", "Quốc Hương", "Tô Ngọc Vân",
    "Lê Văn Thịnh", "Nguyễn Xiển", "Hoàng Diệu 2", "Đặng Văn Bi", "Lã Xuân Oai", "Bưng Ông Thoàn",
]
