// "Use my location": asks the browser for a position only when the button is pressed (the
// browser then asks the person), and sends it only to this node, as /nearest?lat=&lon=.
(function () {
  "use strict";
  var button = document.getElementById("locate");
  if (!button || !navigator.geolocation) return;
  document.getElementById("locate-field").hidden = false;
  document.getElementById("locate-note").hidden = false;
  var status = document.getElementById("locate-status");
  button.addEventListener("click", function () {
    status.textContent = "Asking your browser for your location…";
    navigator.geolocation.getCurrentPosition(
      function (pos) {
        var lat = pos.coords.latitude.toFixed(4), lon = pos.coords.longitude.toFixed(4);
        window.location.href = "/nearest?lat=" + lat + "&lon=" + lon + "&place=your+location";
      },
      function (err) {
        status.textContent = "No location (" + err.message + "). Type your city instead.";
      },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 }
    );
  });
})();
