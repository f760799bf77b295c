/* Leaflet-Geoman 2.20.2 in Vietnamese: every key of its English dictionary ("en"), translated here as a
   planner says it (Geoman ships no Vietnamese). Loaded before editor.js, which passes it to
   map.pm.setLang("vi", dictionary, "en"). The object below is strict JSON: tests/test_geoman_vi.py reads it. */
window.gisportalGeomanVi = {
  "tooltips": {
    "placeMarker": "Nhấp để đặt điểm",
    "placeMarkerTouch": "Chạm vào bản đồ để đặt điểm",
    "firstVertex": "Nhấp để đặt đỉnh đầu tiên",
    "continueLine": "Nhấp để vẽ tiếp",
    "finishLine": "Nhấp vào một đỉnh đã có để kết thúc",
    "finishPoly": "Nhấp vào đỉnh đầu tiên để khép đa giác",
    "finishRect": "Nhấp để kết thúc",
    "startCircle": "Nhấp để đặt tâm đường tròn",
    "finishCircle": "Nhấp để kết thúc đường tròn",
    "placeCircleMarker": "Nhấp để đặt điểm tròn",
    "placeText": "Nhấp để đặt chữ",
    "selectFirstLayerFor": "Chọn đối tượng thứ nhất để {action}",
    "selectSecondLayerFor": "Chọn đối tượng thứ hai để {action}"
  },
  "actions": {
    "finish": "Xong",
    "cancel": "Hủy",
    "removeLastVertex": "Xóa đỉnh vừa vẽ"
  },
  "buttonTitles": {
    "drawMarkerButton": "Vẽ điểm",
    "drawPolyButton": "Vẽ đa giác",
    "drawLineButton": "Vẽ đường",
    "drawCircleButton": "Vẽ đường tròn",
    "drawRectButton": "Vẽ hình chữ nhật",
    "editButton": "Chỉnh sửa",
    "dragButton": "Di chuyển",
    "cutButton": "Cắt",
    "deleteButton": "Xóa",
    "drawCircleMarkerButton": "Vẽ điểm tròn",
    "snappingButton": "Bắt dính đỉnh đang kéo vào đối tượng và đỉnh khác",
    "pinningButton": "Ghim các đỉnh chung với nhau",
    "rotateButton": "Xoay",
    "drawTextButton": "Viết chữ",
    "scaleButton": "Thu phóng đối tượng",
    "autoTracingButton": "Tự động vẽ theo đường",
    "snapGuidesButton": "Hiện đường gióng",
    "unionButton": "Gộp đối tượng",
    "differenceButton": "Trừ đối tượng"
  },
  "measurements": {
    "totalLength": "Chiều dài",
    "segmentLength": "Chiều dài đoạn",
    "area": "Diện tích",
    "radius": "Bán kính",
    "perimeter": "Chu vi",
    "height": "Chiều cao",
    "width": "Chiều rộng",
    "coordinates": "Vị trí",
    "coordinatesMarker": "Vị trí điểm"
  }
};
