"""The member model family: an organization of the network.

``MemberBody`` is the wire body that the origin node signs. ``MemberCreate`` and
``MemberUpdate`` are what the admin API accepts; ``MemberPublic`` is what readers get.
Storage tables live in ``node.db`` and are a separate family, so a migration can never
change the bytes that were signed.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.fields import (
    EMAIL_PATTERN,
    Country,
    IsoDate,
    Languages,
    Latitude,
    Longitude,
    LongText,
    Name,
    ShortText,
    Topics,
    Url,
    reject_nul_unless_checked,
)
from schemas.geo import Region, coordinate_pair, country_in_region


class MemberKind(StrEnum):
    HEALTH_SYSTEM = "health-system"
    HOSPITAL = "hospital"
    ACADEMIC_MEDICAL_CENTRE = "academic-medical-centre"
    CLINIC = "clinic"
    PATIENT_ORGANIZATION = "patient-organization"
    PROFESSIONAL_SOCIETY = "professional-society"
    OTHER = "other"


class NetworkRole(StrEnum):
    HUB = "hub"
    COMMUNITY_LEADER = "community-leader"
    CHARTER_MEMBER = "charter-member"
    MEMBER = "member"


class Platform(StrEnum):
    X = "x"
    FACEBOOK = "facebook"
    YOUTUBE = "youtube"
    LINKEDIN = "linkedin"
    INSTAGRAM = "instagram"
    MASTODON = "mastodon"
    BLOG = "blog"
    OTHER = "other"


class SocialAccount(BaseModel):
    """One presence on a social platform: a handle (``@MayoClinic``), a URL, or both."""

    model_config = ConfigDict(extra="forbid")

    platform: Platform
    handle: ShortText | None = None
    url: Url | None = None

    @model_validator(mode="after")
    def _handle_or_url(self) -> SocialAccount:
        if self.handle is None and self.url is None:
            raise ValueError("a social account needs a handle or a url")
        return self


class Contact(BaseModel):
    """A public contact point. Only what the organization chose to publish."""

    model_config = ConfigDict(extra="forbid")

    name: ShortText | None = None
    email: Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)] | None = None
    phone: Annotated[str, Field(max_length=40, pattern=r"^\+?[0-9 ().-]{4,40}$")] | None = None
    url: Url | None = None


def _check_date(value: str) -> str:
    date.fromisoformat(value)
    return value


class MemberBody(BaseModel):
    """What the origin signs for a member. Field names are part of the wire contract."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any, info: ValidationInfo) -> Any:
        return reject_nul_unless_checked(data, info)

    name: Name
    kind: MemberKind
    region: Region
    country: Country
    city: ShortText | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = Field(default=None, validate_default=True)
    website: Url | None = None
    social: Annotated[list[SocialAccount], Field(max_length=30)] = []
    topics: Topics = []
    languages: Languages = []
    network_role: NetworkRole = NetworkRole.MEMBER
    joined: Annotated[IsoDate, AfterValidator(_check_date)] | None = None
    contact: Contact | None = None
    description: LongText | None = None

    # Cross-field checks are field validators (fields validate in declaration order, so
    # ``info.data`` holds the earlier ones): that way an error names the field at fault.
    @field_validator("country")
    @classmethod
    def _country_in_region(cls, value: str, info: ValidationInfo) -> str:
        return country_in_region(value, info.data.get("region"))

    @field_validator("longitude")
    @classmethod
    def _pair(cls, value: float | None, info: ValidationInfo) -> float | None:
        return coordinate_pair(value, info)


class MemberCreate(MemberBody):
    """Admin input for a new member or a full replacement (PUT)."""


class MemberPublic(MemberBody):
    """A member as readers see it: the body plus where it came from."""

    id: str
    origin: str
    version: int
    updated_at: str
    distance_km: float | None = None
