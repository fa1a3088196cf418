"""Importers: row-level errors with file, line and field; good rows kept; CORDIS mapping."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from domain.models import Role, StakeholderType
from domain.regions import RegionIndex, normalise_country
from pactmatch.importers import read_cordis, read_csv_files, read_json
from pactmatch.importers.cordis import classify

PROJECTS = """project_id,source,programme,acronym,title,objective,start_date,consortium_complete
100,s,H2020,WELD,Welding skills,"Multi-line
objective text",2018-03-01,1
200,s,H2020,,,,2019-01-01,1
300,s,H2020,BAD,Bad date,,03/2019,1
"""

PARTICIPANTS = """project_id,org_id,org_name,role,activity_type,sme,country,city,postcode,nuts_code,source
100,111111111,ACME GMBH,coordinator,PRC,True,DE,Stuttgart,70173,DE111,s
100,222222222,Comune di Milano,participant,PUB,,IT,Milano,,ITC4C,s
100,333333333,Uni Graz,participant,HES,False,AT,Graz,8010,,s
200,111111111,,participant,PRC,True,DE,,,NL332,s
200,444444444,Nameless,participant,XYZ,,DE,,,,s
999,555555555,Orphan,participant,PRC,,DE,,,,s
200,666666666,Somewhere,participant,REC,,QQ,,,,s
200,777777777,Bad Nuts,participant,REC,,FR,,,FR9ZZ,s
200,888888888,Short row
"""


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def test_cordis_maps_projects_participants_and_reports_bad_rows(tmp_path: Path) -> None:
    batch = read_cordis(
        write(tmp_path, "projects.csv", PROJECTS), write(tmp_path, "participants.csv", PARTICIPANTS)
    )
    assert sorted(p.partnership_id for p in batch.partnerships) == ["100", "200"]
    weld = next(p for p in batch.partnerships if p.partnership_id == "100")
    assert weld.name == "WELD" and weld.description.startswith("Welding skills\n\nMulti-line")
    errors = {(e.file, e.line, e.field) for e in batch.errors}
    assert errors == {
        ("projects.csv", 5, "start_date"),  # record starting on line 5 (the objective spans lines 2-3)
        ("participants.csv", 6, "activity_type"),
        ("participants.csv", 7, "project_id"),
        ("participants.csv", 8, "country"),
        ("participants.csv", 10, "row"),
    }
    orgs = {o.org_id: o for o in batch.organisations}
    assert orgs["111111111"].stakeholder_type == StakeholderType.SME and orgs["111111111"].name == "ACME GMBH"
    assert orgs["222222222"].stakeholder_type == StakeholderType.REGIONAL_LOCAL_AUTHORITY
    assert orgs["333333333"].stakeholder_type == StakeholderType.HIGHER_EDUCATION
    assert orgs["333333333"].nuts_codes == ("AT221",)  # from the postcode table
    assert orgs["777777777"].nuts_codes == ("FR",)  # FR9ZZ unknown: kept as its deepest valid ancestor
    assert any(w.line == 9 and "kept as its parent FR" in w.reason for w in batch.warnings)
    roles = {(m.org_id, m.partnership_id): m for m in batch.memberships}
    assert roles[("111111111", "100")].role == Role.COORDINATOR
    assert str(roles[("111111111", "100")].since) == "2018-03-01"
    notes = {(w.line, w.field) for w in batch.warnings}
    assert (5, "nuts_code") in notes  # NL332 recoded to NL361, row kept


def test_native_csv_reports_line_and_field_and_keeps_good_rows(tmp_path: Path) -> None:
    orgs = write(
        tmp_path,
        "organisations.csv",
        "org_id,name,stakeholder_type,country,nuts_codes,ecosystems\n"
        "o1,Alpha,sme,DE,DE111;DE112,digital\n"
        "o2,Beta,not_a_type,DE,,\n"
        "o3,Gamma,vet_provider,DE,XX999,\n"
        'o4,"Delta, with comma",trade_union,EL,EL30,tourism\n',
    )
    batch = read_csv_files(organisations=orgs)
    assert [o.org_id for o in batch.organisations] == ["o1", "o4"]
    assert batch.organisations[0].nuts_codes == ("DE111", "DE112")
    assert batch.organisations[1].country == "GR"
    assert {(e.line, e.field) for e in batch.errors} == {(3, "stakeholder_type"), (4, "nuts_codes")}
    assert "XX999" in next(e.reason for e in batch.errors if e.field == "nuts_codes")


def test_native_csv_rejects_unknown_columns_in_the_header(tmp_path: Path) -> None:
    path = write(tmp_path, "organisations.csv", "org_id,name,stakeholder_type,colour\no1,A,sme,red\n")
    batch = read_csv_files(organisations=path)
    assert batch.organisations == []
    assert batch.errors[0].line == 1 and "unknown column(s) colour" in batch.errors[0].reason


def test_native_json_names_section_and_item(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "data.json",
        '{"organisations": [{"org_id": "a", "name": "A", "stakeholder_type": "sme"}, {"org_id": "b"}],'
        ' "memberships": [{"org_id": "a", "partnership_id": "p", "role": "boss"}]}',
    )
    batch = read_json(path)
    assert [o.org_id for o in batch.organisations] == ["a"]
    assert {(e.file, e.item, e.field) for e in batch.errors} == {
        ("data.json#organisations", 1, "name"),
        ("data.json#organisations", 1, "stakeholder_type"),
        ("data.json#memberships", 0, "role"),
    }
    broken = write(tmp_path, "broken.json", '{"organisations": [\n{"org_id": }]}')
    assert read_json(broken).errors[0].line == 2


def test_classify_uses_keywords_only_where_cordis_is_coarse() -> None:
    assert (
        classify("OTH", None, "Chamber of Commerce of Bilbao") == StakeholderType.CHAMBER_BUSINESS_ASSOCIATION
    )
    assert classify("OTH", None, "Fundacion Pro") == StakeholderType.CIVIL_SOCIETY_NGO
    assert classify("HES", None, "City University") == StakeholderType.HIGHER_EDUCATION
    assert classify("PRC", False, "Cluster Ltd") == StakeholderType.CLUSTER_ORGANISATION
    assert classify("PRC", None, "Vocational Robots Ltd") == StakeholderType.LARGE_EMPLOYER


@given(st.text(max_size=12))
def test_nuts_normalise_never_crashes_and_returns_known_codes(raw: str) -> None:
    index = RegionIndex.default()
    try:
        result = index.normalise(raw)
    except ValueError as exc:
        assert str(exc)
    else:
        assert result.code in index


@given(st.sampled_from(sorted(RegionIndex.default().countries)))
def test_every_region_country_prefix_normalises(code: str) -> None:
    if code not in ("XK",):  # Kosovo has no ISO 3166-1 code
        assert len(normalise_country(code)) == 2
