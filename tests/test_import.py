"""``healthnet import``: members and events from CSV and JSONL, on SQLite and PostgreSQL.

Bad rows are named by line number (as the file shows it; the CSV header is line 1) and
field, good rows are kept, and re-importing an unchanged file writes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.cli import hn
from support.imports import DATA, api, error_lines, events, make_home, members, node_info, summary

from node.importer import record_id
from node.settings import NodeSettings


@pytest.fixture
def na_home(tmp_path: Path, database_url: str) -> Path:
    """A North America node (US and Canadian members)."""
    return make_home(tmp_path, database_url, "north-america")


@pytest.fixture
def eu_home(tmp_path: Path, database_url: str) -> Path:
    """A Europe node (NL, DE, FR members)."""
    return make_home(tmp_path, database_url, "europe")


@pytest.fixture
def sqlite_na(tmp_path: Path) -> Path:
    """For the bug tests, which do not depend on the backend."""
    return make_home(tmp_path, f"sqlite:///{tmp_path / 'na.db'}", "north-america")


@pytest.fixture
def sqlite_eu(tmp_path: Path) -> Path:
    return make_home(tmp_path, f"sqlite:///{tmp_path / 'eu.db'}", "europe")


# members ------------------------------------------------------------------------------


def test_import_members_from_csv(na_home: Path) -> None:
    result = hn("import", na_home, DATA / "members.csv")
    assert summary(result) == "4 created, 0 updated, 0 unchanged, 0 rejected"
    assert "importing members" in result.stderr  # the progress bar
    assert error_lines(result) == []

    found = members(na_home)
    assert set(found) == {
        "Mayo Clinic",
        "Cleveland Clinic",
        "Mount Sinai Health System",
        "The Ottawa Hospital",
    }
    mayo = found["Mayo Clinic"]
    node_id = NodeSettings.load(na_home).node_id
    assert mayo["id"] == record_id(node_id, "member", "mayo")  # stable id from the key
    assert mayo["origin"] == node_id
    assert mayo["version"] == 1
    assert mayo["region"] == "north-america"
    assert mayo["country"] == "US"
    assert mayo["city"] == "Rochester"
    assert (mayo["latitude"], mayo["longitude"]) == (44.0225, -92.4668)
    assert mayo["kind"] == "academic-medical-centre"
    assert mayo["network_role"] == "hub"
    assert mayo["joined"] == "2010-07-27"
    assert mayo["topics"] == ["social media", "patient engagement"]
    assert mayo["languages"] == ["en", "es"]
    assert mayo["social"] == [
        {"platform": "x", "handle": "@MayoClinic"},
        {"platform": "youtube", "url": "https://www.youtube.com/user/mayoclinic"},
    ]
    assert mayo["contact"] == {"email": "socialmedia@mayo.edu"}
    assert "key" not in mayo

    sinai = found["Mount Sinai Health System"]
    assert sinai["region"] == "north-america"  # empty region cell: the node's region
    assert "joined" not in sinai and "contact" not in sinai  # empty cells are absent
    ottawa = found["The Ottawa Hospital"]
    assert ottawa["country"] == "CA"
    assert ottawa["languages"] == ["en", "fr"]
    assert ottawa["description"] == "Bilingual teaching hospital, Ontario"  # quoted comma
    assert node_info(na_home)["last_seq"] == 4

    with api(na_home) as client:  # the imported members are searchable
        hits = client.get("/members", params={"q": "rochester"}).json()["items"]
        assert [m["name"] for m in hits] == ["Mayo Clinic"]
        hits = client.get("/members", params={"topic": "patient engagement"}).json()["items"]
        assert {m["name"] for m in hits} == {"Mayo Clinic", "The Ottawa Hospital"}


def test_import_members_from_jsonl(eu_home: Path) -> None:
    result = hn("import", eu_home, DATA / "members.jsonl")
    assert summary(result) == "3 created, 0 updated, 0 unchanged, 0 rejected"
    assert "importing members" in result.stderr
    found = members(eu_home)
    assert set(found) == {
        "Radboud University Nijmegen Medical Centre",
        "Charité – Universitätsmedizin Berlin",
        "Assistance Publique – Hôpitaux de Paris",
    }
    charite = found["Charité – Universitätsmedizin Berlin"]
    assert charite["social"] == [
        {"platform": "x", "handle": "@ChariteBerlin"},
        {"platform": "youtube", "url": "https://www.youtube.com/@charite"},
    ]
    assert charite["languages"] == ["de", "en"]
    radboud = found["Radboud University Nijmegen Medical Centre"]
    assert radboud["region"] == "europe"
    assert radboud["network_role"] == "community-leader"
    aphp = found["Assistance Publique – Hôpitaux de Paris"]
    assert "latitude" not in aphp and aphp["network_role"] == "member"
    assert node_info(eu_home)["last_seq"] == 3


def test_reimporting_the_same_file_changes_nothing(na_home: Path) -> None:
    hn("import", na_home, DATA / "members.csv")
    before = node_info(na_home)
    versions = {name: m["version"] for name, m in members(na_home).items()}

    result = hn("import", na_home, DATA / "members.csv")
    assert summary(result) == "0 created, 0 updated, 4 unchanged, 0 rejected"
    after = node_info(na_home)
    assert after["last_seq"] == before["last_seq"] == 4  # no new sequence numbers
    assert after["members"] == 4
    assert {name: m["version"] for name, m in members(na_home).items()} == versions


def test_changing_one_row_updates_exactly_that_member(tmp_path: Path, na_home: Path) -> None:
    hn("import", na_home, DATA / "members.csv")
    changed = tmp_path / "members.csv"
    text = (DATA / "members.csv").read_text(encoding="utf-8")
    assert text.count("cardiology; digital health") == 1
    changed.write_text(
        text.replace("cardiology; digital health", "cardiology; telehealth"), encoding="utf-8"
    )

    result = hn("import", na_home, changed)
    assert summary(result) == "0 created, 1 updated, 3 unchanged, 0 rejected"
    found = members(na_home)
    assert found["Cleveland Clinic"]["version"] == 2
    assert found["Cleveland Clinic"]["topics"] == ["cardiology", "telehealth"]
    assert {m["version"] for n, m in found.items() if n != "Cleveland Clinic"} == {1}
    assert node_info(na_home)["last_seq"] == 5

    # Importing the original again is one more update (version 3), not a revert to v1.
    result = hn("import", na_home, DATA / "members.csv")
    assert summary(result) == "0 created, 1 updated, 3 unchanged, 0 rejected"
    assert members(na_home)["Cleveland Clinic"]["version"] == 3


MEMBER_CSV_ERRORS = [
    (3, "key", "required"),
    (4, "country", "'XX' is not an ISO 3166-1 alpha-2 country code"),
    (5, "region", "this node publishes north-america records only"),
    (6, "latitude", "not a number: 'abc'"),
    (7, "longitude", "longitude is required when latitude is given"),
    (8, "key", "duplicate key 'mayo' (first on line 2)"),
    (9, "kind", "'academic-medical-centre'"),
    (10, "network_role", "'community-leader'"),
    (12, "country", "country FR is in region europe, not north-america"),
    (13, "social.0.platform", "'youtube'"),
]


def test_bad_csv_rows_are_named_by_line_and_field(na_home: Path) -> None:
    result = hn("import", na_home, DATA / "members_bad.csv", code=1)
    assert summary(result) == "3 created, 0 updated, 0 unchanged, 10 rejected"
    lines = error_lines(result)
    assert len(lines) == len(MEMBER_CSV_ERRORS), result.stderr
    for line, (number, field, reason) in zip(lines, MEMBER_CSV_ERRORS, strict=True):
        assert line.startswith(f"line {number}: {field}: "), line
        assert reason in line, line
    assert result.stdout.count("line ") == 0  # errors go to stderr, the summary to stdout

    found = members(na_home)  # every good row landed
    assert set(found) == {"Mayo Clinic", "Cleveland Clinic", "The Ottawa Hospital"}
    assert found["Mayo Clinic"]["city"] == "Rochester"  # the first "mayo", not the duplicate
    assert node_info(na_home)["last_seq"] == 3


MEMBER_JSONL_ERRORS = [  # line 2 is blank: skipped, but counted
    (3, "line", "not JSON"),
    (4, "line", "not a JSON object"),
    (5, "latitude", "valid number"),
    (6, "key", "required"),
    (8, "key", "duplicate key 'radboud' (first on line 1)"),
    (9, "region", "this node publishes europe records only"),
]


def test_bad_jsonl_lines_are_named_by_line_and_field(eu_home: Path) -> None:
    result = hn("import", eu_home, DATA / "members_bad.jsonl", code=1)
    assert summary(result) == "2 created, 0 updated, 0 unchanged, 6 rejected"
    lines = error_lines(result)
    assert len(lines) == len(MEMBER_JSONL_ERRORS), result.stderr
    for line, (number, field, reason) in zip(lines, MEMBER_JSONL_ERRORS, strict=True):
        assert line.startswith(f"line {number}: {field}: "), line
        assert reason in line, line
    found = members(eu_home)
    assert set(found) == {
        "Radboud University Nijmegen Medical Centre",
        "Charité – Universitätsmedizin Berlin",
    }


def test_unknown_kind_option_is_refused(na_home: Path) -> None:
    result = hn("import", na_home, DATA / "members.csv", "--kind", "hospital", code=2)
    assert result.stderr.strip() == "error: --kind: 'hospital' is not members or events"
    assert node_info(na_home)["last_seq"] == 0


def test_a_missing_file_is_a_usage_error(na_home: Path, tmp_path: Path) -> None:
    result = hn("import", na_home, tmp_path / "nope.csv", code=2)
    assert "does not exist" in result.stderr


# events -------------------------------------------------------------------------------


def test_import_events_resolves_organizer_keys(na_home: Path) -> None:
    hn("import", na_home, DATA / "members.csv")
    result = hn("import", na_home, DATA / "events.csv")
    assert summary(result) == "2 created, 0 updated, 0 unchanged, 0 rejected"
    assert "importing events" in result.stderr

    people = members(na_home)
    found = events(na_home)
    assert set(found) == {"Health Social Media Day North America", "Social media for clinicians"}
    day = found["Health Social Media Day North America"]
    assert day["organizer"] == people["Mayo Clinic"]["id"]
    assert day["venue"] == {
        "name": "Mayo Civic Center",
        "city": "Rochester",
        "country": "US",
        "latitude": 44.0234,
        "longitude": -92.463,
    }
    assert day["region"] == "north-america"
    assert day["starts_at_utc"] == "2027-10-12T14:00:00Z"  # 09:00 CDT
    assert day["topics"] == ["social media", "patient engagement"]
    webinar = found["Social media for clinicians"]
    assert webinar["organizer"] == people["Cleveland Clinic"]["id"]
    assert webinar["online_url"] == "https://webinars.example.org/clinicians"
    assert "venue" not in webinar

    with api(na_home) as client:
        r = client.get(
            "/events", params={"organizer": people["Mayo Clinic"]["id"], "from": "2000-01-01"}
        )
        assert [e["title"] for e in r.json()["items"]] == [day["title"]]

    result = hn("import", na_home, DATA / "events.csv")
    assert summary(result) == "0 created, 0 updated, 2 unchanged, 0 rejected"


def test_event_with_unknown_organizer_is_rejected_and_the_others_land(na_home: Path) -> None:
    hn("import", na_home, DATA / "members.csv")
    seq = node_info(na_home)["last_seq"]
    result = hn("import", na_home, DATA / "events_bad.csv", code=1)
    assert summary(result) == "2 created, 0 updated, 0 unchanged, 2 rejected"
    lines = error_lines(result)
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith("line 3: organizer: "), lines
    assert lines[1].startswith("line 4: ends_at: ends_at must be after starts_at"), lines
    assert set(events(na_home)) == {
        "Health Social Media Day North America",
        "Social media for clinicians",
    }
    assert node_info(na_home)["last_seq"] == seq + 2  # no sequence number burnt on failures


def test_events_jsonl_with_organizer_key(tmp_path: Path, eu_home: Path) -> None:
    hn("import", eu_home, DATA / "members.jsonl")
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"key": "hsmd-eu", "title": "Health Social Media Day Europe", "kind": "conference",'
        ' "timezone": "Europe/Amsterdam", "starts_at": "2027-03-10T09:00",'
        ' "ends_at": "2027-03-10T17:00", "organizer_key": "radboud",'
        ' "venue": {"city": "Nijmegen", "country": "NL"}}\n'
        '{"key": "ghost", "title": "Ghost Meetup", "kind": "meetup",'
        ' "timezone": "Europe/Berlin", "starts_at": "2027-04-01T18:00",'
        ' "ends_at": "2027-04-01T20:00", "organizer_key": "nobody",'
        ' "online_url": "https://example.org/ghost"}\n',
        encoding="utf-8",
    )
    result = hn("import", eu_home, path, code=1)
    assert summary(result) == "1 created, 0 updated, 0 unchanged, 1 rejected"
    assert error_lines(result)[0].startswith("line 2: organizer: ")
    radboud = members(eu_home)["Radboud University Nijmegen Medical Centre"]
    assert events(eu_home)["Health Social Media Day Europe"]["organizer"] == radboud["id"]


# bugs ---------------------------------------------------------------------------------


def test_a_lone_event_with_an_unknown_organizer_is_reported(
    tmp_path: Path, sqlite_na: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "key,title,kind,timezone,starts_at,ends_at,online_url,organizer_key\n"
        "ghost,Ghost Summit,webinar,America/New_York,2027-05-01T09:00,2027-05-01T10:00,"
        "https://example.org/ghost,nobody\n",
        encoding="utf-8",
    )
    result = hn("import", sqlite_na, path, code=1)
    assert error_lines(result) == ["line 2: organizer: no such member in the directory"]
    assert summary(result) == "0 created, 0 updated, 0 unchanged, 1 rejected"


def test_rejected_counts_rows_not_errors(tmp_path: Path, sqlite_na: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_text(
        "key,name,kind,country\n"
        "ok,Boston Children's Hospital,hospital,US\n"
        "two,Two Mistakes,spaceport,XX\n",
        encoding="utf-8",
    )
    result = hn("import", sqlite_na, path, code=1)
    assert len(error_lines(result)) == 2  # both fields are named...
    assert summary(result) == "1 created, 0 updated, 0 unchanged, 1 rejected"  # ...one row


def test_csv_line_number_of_a_multiline_row_is_its_first_line(
    tmp_path: Path, sqlite_na: Path
) -> None:
    path = tmp_path / "members.csv"
    path.write_text(
        "key,name,kind,country,description\n"  # line 1
        'ok,Good Samaritan,hospital,US,"first line\n'  # line 2
        'second line"\n'  # line 3
        'bad,Bad Kind,spaceport,US,"starts here\n'  # line 4: the bad row
        'ends here"\n'  # line 5
        "ok2,Good Shepherd,hospital,US,plain\n",  # line 6
        encoding="utf-8",
    )
    result = hn("import", sqlite_na, path, code=1)
    assert summary(result) == "2 created, 0 updated, 0 unchanged, 1 rejected"
    assert error_lines(result)[0].startswith("line 4: kind: "), error_lines(result)


def test_broken_first_jsonl_line_is_reported_without_kind_option(
    tmp_path: Path, sqlite_eu: Path
) -> None:
    path = tmp_path / "members.jsonl"
    path.write_text(
        '{"key": "umcu", "name": "UMC Utrecht\n'
        '{"key": "erasmus", "name": "Erasmus MC", "kind": "academic-medical-centre",'
        ' "country": "NL", "city": "Rotterdam"}\n',
        encoding="utf-8",
    )
    result = hn("import", sqlite_eu, path, code=1)
    assert error_lines(result)[0].startswith("line 1: ")
    assert set(members(sqlite_eu)) == {"Erasmus MC"}


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ("lat,Bracket Hospital,hospital,US,[/],-71.1", "line 3: latitude: not a number: '[/]'"),
        ("[red],Red Cross Hospital,hospital,US,,", "line 3: key: duplicate key '[red]'"),
    ],
    ids=["closing-tag-crashes", "tag-swallowed"],
)
def test_row_errors_echo_cell_text_literally(
    tmp_path: Path, sqlite_na: Path, cells: str, expected: str
) -> None:
    path = tmp_path / "members.csv"
    first = cells.split(",")[0]
    path.write_text(
        "key,name,kind,country,latitude,longitude\n"
        f"{first},Boston Medical Center,hospital,US,42.33,-71.07\n"
        f"{cells}\n",
        encoding="utf-8",
    )
    result = hn("import", sqlite_na, path, code=1)
    assert any(line.startswith(expected) for line in error_lines(result)), result.stderr


def test_data_files_are_intact() -> None:
    """Guard: the bad-row tests count on these exact line layouts."""
    assert len((DATA / "members_bad.csv").read_text(encoding="utf-8").splitlines()) == 14
    assert len((DATA / "members_bad.jsonl").read_text(encoding="utf-8").splitlines()) == 9
