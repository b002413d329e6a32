"""Pinhole camera over a flat ground plane: gives perspective (far = higher in the image and smaller).

World coordinates: X to the right, Z away from the camera (metres); the ground is at height 0 and the camera
looks horizontally from `cam_height`. A point at ground (X, Z) projects to image x = cx + f X / Z and
y = horizon + f cam_height / Z; a person of height h_m there is f h_m / Z pixels tall.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.data.synth.params import SynthParams

PERSON_HEIGHT_M = 1.7
# Where the feet of the nearest and farthest walkers are, as fractions of the image height.
_NEAR_FOOT_FRAC = 0.97
_FAR_FOOT_FRAC = 0.44


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    focal: float
    cam_height: float
    horizon: float
    z_near: float  # nearest walking depth
    z_far: float  # farthest walking depth

    @classmethod
    def from_params(cls, p: SynthParams) -> Camera:
        """Solve focal/camera height/horizon so people span `far_height_frac..near_height_frac` of the image."""
        focal = 0.78 * p.width
        z_near = PERSON_HEIGHT_M * focal / (p.near_height_frac * p.height)
        z_far = PERSON_HEIGHT_M * focal / (p.far_height_frac * p.height)
        cam_height = (_NEAR_FOOT_FRAC - _FAR_FOOT_FRAC) * p.height / (focal * (1 / z_near - 1 / z_far))
        horizon = _NEAR_FOOT_FRAC * p.height - cam_height * focal / z_near
        return cls(p.width, p.height, focal, cam_height, horizon, z_near, z_far)

    @property
    def cx(self) -> float:
        return self.width / 2.0

    def foot_y(self, z: float) -> float:
        return self.horizon + self.focal * self.cam_height / z

    def image_x(self, x: float, z: float) -> float:
        return self.cx + self.focal * x / z

    def pixels_per_metre(self, z: float) -> float:
        return self.focal / z

    def half_view_x(self, z: float) -> float:
        """Half the width of the visible strip at depth z, in metres."""
        return self.cx * z / self.focal

    def depth_at_row(self, y: float) -> float:
        """Depth of the ground seen at image row y (must be below the horizon)."""
        return self.focal * self.cam_height / max(y - self.horizon, 1e-6)
