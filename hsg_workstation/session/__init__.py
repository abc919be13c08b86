"""The Qt-free reading session: what is open, shown, measured and marked — one owner for each piece of state.

``ReadingSession`` (the open study, display sets, active viewport, bound report), ``ViewportState`` (a viewport's
display set, frame, window / level, orientation, tool), ``MeasurementStore`` (measurements — the bound report's),
``KeyImages`` (key images — the bound report's). psygnal events; ``ui/`` renders them (docs/architecture.md).
"""
