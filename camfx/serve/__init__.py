"""``camfx serve``: the live loop watched and steered from a browser.

- :mod:`.stream`: the stream sink (newest frame, one JPEG encode per frame for every viewer);
- :mod:`.app`: the aiohttp routes, the viewers, the push channel;
- :mod:`.webrtc`: the page's WebRTC view (aiortc);
- :mod:`.guard`: token, Host and Origin checks;
- :mod:`.describe`: filters and chains as JSON;
- ``page/``: the control page (HTML, CSS, JavaScript; no build step, nothing from elsewhere).
"""
