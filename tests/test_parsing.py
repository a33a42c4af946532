from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from bot.parsing import (
    CATEGORIES,
    NOT_A_REQUEST,
    ParsedRequest,
    Parser,
    Vocabulary,
    nb_counts,
    parse,
)
from bot.parsing.address import AddressParser, cn_to_int
from bot.parsing.bayes import NaiveBayes, features
from bot.parsing.evaluate import EvalReport, evaluate, run_eval, run_parse
from bot.parsing.normalize import MAX_INPUT_CHARS, normalize
from bot.parsing.train import count, render
from bot.parsing.urgency import is_urgent

REPO = Path(__file__).resolve().parents[1]
DEV_FILE = Path(__file__).resolve().parents[2] / "shared/data/requests_dev.jsonl"
EXTRA_FILE = REPO / "data/requests_extra.jsonl"


@pytest.fixture(scope="module")
def parser() -> Parser:
    return Parser()


# --- numerals and addresses -------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "value"),
    [
        ("五", 5),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十一", 21),
        ("两", 2),
        ("一百零五", 105),
        ("三零二", 302),
        ("17", 17),
    ],
)
def test_chinese_numerals(token: str, value: int) -> None:
    assert cn_to_int(token) == value


@pytest.mark.parametrize(
    ("text", "building", "unit", "room"),
    [
        ("3号楼2单元501漏水", "3", "2", "501"),
        ("五号楼的灯坏了", "5", None, None),
        ("十二栋门口", "12", None, None),
        ("二十一号楼水压太小，我们住六楼", "21", None, None),
        ("六号楼四单元501", "6", "4", "501"),
        ("501，3单元，7号楼，马桶漏水", "7", "3", "501"),
        ("3-2-501 卫生间漏水", "3", "2", "501"),
        ("我住9-1-1202", "9", "1", "1202"),
        ("7#楼单元门关不上", "7", None, None),
        ("第九栋的楼道灯", "9", None, None),
        ("5幢3单元", "5", "3", None),
        ("十八栋二单元三零二", "18", "2", "302"),
        ("１５号楼３单元３０１", "15", "3", "301"),
        ("3号楼2门501", "3", "2", "501"),
        ("东区3号楼门口的路灯坏了", "3", None, None),
        ("电梯卡在8楼和9楼中间了 12号楼", "12", None, None),
        ("楼上602天天半夜跺脚", None, None, "602"),
        ("102室的暖气不热", None, None, "102"),
        ("water leaking, building 4 room 302", "4", None, "302"),
        ("单元门禁刷不开了 6-3", "6", "3", None),
        ("等了3-5天还没人来修，6号楼", "6", None, None),
        ("8-9点停水吗", None, None, None),
        ("12-10号之前能修好吗", None, None, None),
    ],
)
def test_address_forms(
    parser: Parser, text: str, building: str | None, unit: str | None, room: str | None
) -> None:
    result = parser.parse(text)
    assert (result.building, result.unit, result.room) == (building, unit, room)


@pytest.mark.parametrize(
    "text",
    [
        "招租：两室一厅，1800一个月",
        "120还没到，快来人",
        "专业开锁，电话13812345678",
        "我的车位被占了 B2-056",
        "2024年的暖气费",
        "花了305块",
        "我们住六楼，8楼和9楼之间",
    ],
)
def test_numbers_that_are_not_rooms_or_buildings(parser: Parser, text: str) -> None:
    result = parser.parse(text)
    assert (result.building, result.room) == (None, None)


def test_building_aliases_from_vocabulary() -> None:
    vocabulary = Vocabulary(building_aliases={"老干部楼": "20", "東區3號樓": "E3"})
    parser = Parser(vocabulary)
    assert parser.parse("老干部楼2单元的楼道灯坏了").building == "20"
    # Alias keys are normalised too, so a traditional-script alias matches simplified text.
    assert parser.parse("东区3号楼门口的垃圾没人收").building == "E3"
    assert AddressParser().parse("老干部楼").building is None


# --- urgency ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "4号楼2单元一楼有很大的煤气味！！！谁家漏气了",
        "家里闻到一股烧焦的味道，插座那儿冒烟了",
        "🔥🔥楼下冒黑烟了 好像是车棚那边着火了",
        "水管爆了!!!水都漫到客厅了",
        "东门有根电线耷拉下来了，快挨着地了，还滋滋响",
        "15号楼门口有个老大爷摔倒了起不来",
        "我妈一个人住，电话打了两天都没人接",
        "电梯卡在8楼和9楼中间了 里面有我和孩子",
        "20号楼电梯里困着人呢",
        "樓道裡有很重的瓦斯味",
        "gas smell in building 9",
        "我爸中午出去遛弯到现在还没回来，他有阿尔茨海默",
        "我妈刚才吃饭的时候突然说不出话，右手也抬不起来",
        "奶奶嘴歪了，口水往下流，是不是中风",
        "孩子把爷爷的安眠药吃了好几片",
        "家里燃气报警器一直在叫，我们已经开窗了",
        "卫生间顶灯里往下滴水，灯还亮着",
        "小孩把自己反锁在卫生间了，叫也不开",
        "My grandma fell in the bathroom and can't get up, building 6 unit 1",
        "Power is out and my dad's oxygen machine has stopped",
        "I can smell gas on the 3rd floor of building 7",
        "We are stuck in the lift in building 2, please hurry",
        "我爸从昨晚到现在电话一直打不通，他一个人住",
        "厨房里进烟了，好像是楼下着了",
        "我老公在工地中暑了，人有点迷糊",
        "对门阿婆三日冇出门，敲门都冇人应",
        "A man collapsed at the bus stop by the east gate, he is unresponsive",
        "小朋友一个人被关在家里，一直在哭",
        "楼上的水漏到我家电表那里了",
        "有人在楼下拿着刀追人",
        "外墙的砖正在往下掉，底下还有人走",
        "一个小孩趴在五楼窗台外面，家里没大人",
        "我孙子把一整瓶维生素都吃了",
        "一氧化碳报警器一直在叫，头有点疼",
        "Bricks are falling from the roof onto the path",
        "My son swallowed a battery",
        "楼下有个人躺在地上一动不动",
        "我女儿在超市门口不见了，十分钟了还没找到",
        "他说不想活了，站在天台边上",
        "孩子脸肿了，说喉咙发紧，刚吃了虾",
        "插座面板里在往外渗水",
        "My daughter is missing, she is five",
    ],
)
def test_urgent_phrasing(parser: Parser, text: str) -> None:
    assert parser.parse(text).urgent


@pytest.mark.parametrize(
    "text",
    [
        "刚才闻到的煤气味已经没有了，虚惊一场",
        "没有煤气味了，物业查过了",
        "水管已经修好了，谢谢",
        "昨天楼下着火的事处理完了",
        "楼道里电动车充电太危险了，万一着火了咋办",
        "家里的煤气灶打不着火了",
        "13号楼有人把煤气罐放在楼道里了",
        "不是着火，是楼下有人在烧烤",
        "谁的车堵在单元门口了？打电话也不接",
        "老人摔了一跤，去医院看过了没大事",
        "电梯又坏了！！",
        "卫生间墙上往外渗水",
        "谁的车停在单元门口，救护车进不来",
        "我爸脑梗以后说话不清楚，社区有康复训练吗",
        "烟感报警器没电了一直滴滴叫",
        "想给家里装个燃气报警器，社区能统一买吗",
        "昨晚闻到一点煤气味，开了窗就没了，要不要来查一下",
        "楼道里全是烟头，谁扔的",
        "昨晚大风，好几棵树枝倒在路上，什么时候清理",
        "The fire drill last week was useful",
        "社区什么时候办防中暑讲座",
        "天花板墙皮一块一块往下掉，麻烦来修",
        "燃气灶的火苗发黄，正常吗",
        "想给老人办个防走失手环",
        "电梯按钮按了没反应，老人上不去楼",
        "空调外机掉下来一台，幸亏没砸着人",
        "孩子的医保卡丢了怎么补办",
        "楼道电线太乱，哪天着火了可怎么办",
        "刚才报的着火是误会，是有人在烧烤",
        "想学急救，社区有培训吗",
    ],
)
def test_not_urgent_lookalikes_and_negation(parser: Parser, text: str) -> None:
    assert not parser.parse(text).urgent


def test_urgency_works_on_normalised_text() -> None:
    assert is_urgent(normalize("ＧＡＳ ＳＭＥＬＬ！！"))


# --- categories -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("3号楼2单元楼道灯不亮了", "repair"),
        ("垃圾桶两天没人清了，臭死了", "sanitation"),
        ("楼道里停电动车充电太危险了", "safety"),
        ("暖气一点都不热", "utilities"),
        ("开居住证明要带什么材料", "paperwork"),
        ("流感疫苗到了吗", "health"),
        ("我爸独居，能不能让网格员定期上门看看", "care"),
        ("社区有招工信息吗", "employment"),
        ("楼上半夜跺脚，吵得睡不着", "neighbor"),
        ("谁的车堵在单元门口了，赶紧挪车", "parking"),
        ("书法班每周几上课", "activity"),
        ("建议在小区里多放几个长椅", "other"),
    ],
)
def test_categories(parser: Parser, text: str, category: str) -> None:
    assert parser.parse(text).category == category


@pytest.mark.parametrize(
    "text",
    [
        "谢谢物业修好了灯",
        "今天天气真好，暖气也挺热",
        "谢谢社区！昨天报的楼道灯今天就修好了👍",
        "刚看到电梯修好了，大家可以用了",
        "讲个笑话：物业问我为啥交费这么积极，我说怕电梯不等我😂",
        "出售九成新婴儿车一辆，有需要的私聊",
        "好的好的",
        "大家早上好",
        "转发：防诈骗提醒，不要给陌生人转账",
        "上门维修空调冰箱洗衣机，价格公道，随叫随到",
    ],
)
def test_chatter_with_keywords_is_not_a_request(parser: Parser, text: str) -> None:
    result = parser.parse(text)
    assert result.category == NOT_A_REQUEST
    assert not result.is_request


def test_ambiguous_upstairs_leak_offers_the_other_reading(parser: Parser) -> None:
    result = parser.parse("楼上漏水")
    readings = {result.category, *result.alternatives}
    assert {"repair", "neighbor"} <= readings
    assert result.confidence < 0.5  # the bot should ask the resident


def test_clear_request_is_confident(parser: Parser) -> None:
    result = parser.parse("7号楼4单元楼道灯坏了一个礼拜了，麻烦物业给换个灯泡")
    assert result.category == "repair"
    assert result.confidence >= 0.5
    assert all(c in CATEGORIES for c in result.alternatives)


def test_vocabulary_extra_keywords() -> None:
    text = "北门岗亭旁边那个大铁箱子"
    plain = Parser().parse(text)
    custom = Parser(Vocabulary(extra_keywords={"sanitation": ("大铁箱子",), "bogus": ("x",)}))
    assert custom.parse(text).category == "sanitation"
    as_string = Parser(Vocabulary(extra_keywords={"sanitation": "大铁箱子"}))  # type: ignore[dict-item]
    assert as_string.parse(text).category == "sanitation"
    assert plain.category != "sanitation"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("The heating in building 3 is barely warm, can someone check the radiator?", "utilities"),
        ("Is there a power cut? The whole floor has no electricity", "utilities"),
        ("How do I get a residence certificate for my kid's school?", "paperwork"),
        ("Where can I get a flu shot for my parents?", "health"),
        ("My neighbour upstairs plays loud music every night", "neighbor"),
        ("Someone parked in front of the bike shed again", "parking"),
        ("Are there any yoga classes in the activity room?", "activity"),
        ("Could someone check on the old lady in 5-2-301? She lives alone", "care"),
        ("Good morning everyone!", NOT_A_REQUEST),
        ("I need a proof of address for the bank, can the office help?", "paperwork"),
    ],
)
def test_english_requests(parser: Parser, text: str, category: str) -> None:
    assert parser.parse(text).category == category


def test_traditional_fullwidth_and_english_mix(parser: Parser) -> None:
    assert parser.parse("暖氣不熱，已經一個禮拜了，6號樓2單元").category == "utilities"
    result = parser.parse("pls 修一下 lift，７号楼的电梯又停了")
    assert (result.category, result.building) == ("repair", "7")
    assert parser.parse("thank you so much!!").category == NOT_A_REQUEST
    # Characters a hand-made table would miss (OpenCC knows them all).
    assert normalize("轉發：請勿相信陌生來電") == "转发:请勿相信陌生来电"
    assert normalize("部电梯冇反应，唔该睇下") == "部电梯没反应,麻烦看下"  # Cantonese


def test_normalize() -> None:
    assert normalize("１５号楼ＡＢＣ") == "15号楼abc"
    assert normalize("樓道燈壞了") == "楼道灯坏了"
    assert normalize("a\x00b\u200bc\x1b") == "a b c"
    assert normalize("👍👍") == "赞赞"
    assert normalize("x" * 20_000) == "x" * MAX_INPUT_CHARS


# --- naive-Bayes backoff ---------------------------------------------------------------


def test_bayes_features_are_cjk_unigrams_and_bigrams() -> None:
    assert features("楼道灯,坏") == {"楼", "道", "灯", "楼道", "道灯", "坏"}
    assert features("3号楼abc") == {"号", "楼", "号楼"}
    assert features("") == set()


def test_bayes_prefers_the_label_its_features_were_seen_with() -> None:
    model = NaiveBayes(("a", "b"), (1.0, 1.0), {"灯": "0:3", "狗": "1:3"})
    scores = model.relative_log_scores("灯")
    assert scores["a"] == 0.0
    assert scores["b"] < 0.0
    assert model.relative_log_scores("")["a"] == 0.0


def test_shipped_counts_are_reproducible_from_the_extra_file() -> None:
    # The model is data: rebuilding it from data/requests_extra.jsonl must give the
    # committed module byte for byte (run `python -m bot.parsing.train ...` if not).
    shipped = Path(nb_counts.__file__).read_text(encoding="utf-8")
    assert render(*count(_load(EXTRA_FILE))) == shipped


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "🙏🙏🙏", "😀", "\x00\x01\x02", "\u200b\u200d", "...", "Hello, how are you?"],
)
def test_bad_input_is_not_a_request(parser: Parser, text: str) -> None:
    result = parser.parse(text)
    assert isinstance(result, ParsedRequest)
    assert result.category == NOT_A_REQUEST
    assert not result.urgent
    assert 0.0 <= result.confidence <= 1.0


def test_long_input_is_truncated_and_fast(parser: Parser) -> None:
    text = "3号楼2单元楼道灯不亮了。" + "楼上楼下漏水煤气味" * 2000
    started = time.perf_counter()
    result = parser.parse(text)
    elapsed = time.perf_counter() - started
    assert result.category in CATEGORIES
    assert (result.building, result.unit) == ("3", "2")
    assert elapsed < 1.0  # generous bound: a hang, not a benchmark


def test_parse_function_uses_default_and_custom_vocabulary() -> None:
    assert parse("电梯又坏了！！").category == "repair"
    vocabulary = Vocabulary(building_aliases={"老干部楼": "20"})
    assert parse("老干部楼电梯坏了", vocabulary).building == "20"


def test_non_string_input_does_not_crash(parser: Parser) -> None:
    assert parser.parse(None).category == NOT_A_REQUEST  # type: ignore[arg-type]


# --- CLI helpers ----------------------------------------------------------------------


def test_run_parse_keeps_one_output_per_line() -> None:
    lines = [
        json.dumps({"text": "3号楼2单元501马桶堵了"}, ensure_ascii=False),
        "",
        "not json",
        "[1, 2]",
        json.dumps({"no_text": 1}),
        json.dumps({"text": 5}),
        json.dumps({"text": "谢谢"}, ensure_ascii=False),
    ]
    out = io.StringIO()
    assert run_parse(io.StringIO("\n".join(lines) + "\n"), out, None) == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == len(lines)
    assert rows[0] == {
        "category": "repair",
        "building": "3",
        "unit": "2",
        "room": "501",
        "urgent": False,
        "confidence": rows[0]["confidence"],
    }
    assert [row.get("error") for row in rows[1:6]] == [
        "empty_line",
        "invalid_json",
        "not_an_object",
        "missing_text",
        "missing_text",
    ]
    assert rows[6]["category"] == NOT_A_REQUEST
    assert "马桶" not in out.getvalue()  # only results, not echoed input


def test_run_parse_writes_non_ascii_as_is() -> None:
    out = io.StringIO()
    vocabulary = Vocabulary(building_aliases={"老干部楼": "二十"})
    run_parse(io.StringIO('{"text": "老干部楼漏水"}\n'), out, vocabulary)
    assert '"二十"' in out.getvalue()


def _record(text: str, category: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "text": text,
        "category": category,
        "also": [],
        "building": None,
        "unit": None,
        "room": None,
        "urgent": False,
    }
    record.update(fields)
    return record


def test_evaluate_tiny_fixture_hand_computed(parser: Parser) -> None:
    records = [
        # correct on every field
        _record("3号楼2单元501马桶堵了", "repair", building="3", unit="2", room="501"),
        # parser says repair; "also" accepts it
        _record("楼上漏水", "neighbor", also=["repair"]),
        # wrong category (parser: none), wrong building (expected 9)
        _record("好的好的", "repair", building="9"),
        # chatter, correct none
        _record("谢谢大家", "none"),
        # urgent, correct
        _record("煤气味很大，快来人", "safety", urgent=True),
        # parser says urgent, label says not: urgent false positive
        _record("水管爆了，水漫到客厅了", "repair"),
        # not a dict / no text: skipped
        {"category": "repair"},
    ]
    report = evaluate(records, parser)
    assert isinstance(report, EvalReport)
    assert (report.total, report.skipped) == (6, 1)
    assert report.correct == {"category": 5, "building": 5, "unit": 6, "room": 6, "urgent": 5}
    assert report.category_accuracy == pytest.approx(5 / 6)
    assert report.building_accuracy == pytest.approx(5 / 6)
    # none: predicted for "好的好的" (wrong) and "谢谢大家" (right); one actual none.
    assert (report.none_tp, report.none_fp, report.none_fn) == (1, 1, 0)
    assert report.none_precision == pytest.approx(0.5)
    assert report.none_recall == pytest.approx(1.0)
    assert (report.urgent_tp, report.urgent_fp, report.urgent_fn) == (1, 1, 0)
    assert report.urgent_precision == pytest.approx(0.5)
    assert report.urgent_recall == pytest.approx(1.0)
    assert report.confusion[("repair", "none")] == 1
    assert report.confusion_rows == [("repair", "none", 1)]
    missed = {(m.field, m.text, m.expected, m.got) for m in report.misses}
    assert missed == {
        ("category", "好的好的", "repair", "none"),
        ("building", "好的好的", "9", "null"),
        ("urgent", "水管爆了，水漫到客厅了", "false", "true"),
    }


def test_run_eval_prints_report(tmp_path: Path) -> None:
    data = tmp_path / "tiny.jsonl"
    rows = [
        _record("3号楼漏水 <b>&", "repair", building="3"),
        _record("好的", "none"),
    ]
    data.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    assert run_eval(data, out, None) == 0
    text = out.getvalue()
    assert "100.0" in text
    assert "tiny.jsonl" in text
    assert "&lt;" not in text  # plain text, not HTML-escaped

    missing = io.StringIO()
    assert run_eval(tmp_path / "absent.jsonl", missing, None) == 1
    assert "file_not_found" in missing.getvalue()


# --- targets on the labelled sets -----------------------------------------------------


def _load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _dataset(name: str) -> Path:
    path = DEV_FILE if name == "dev" else EXTRA_FILE
    if not path.exists():
        pytest.skip(f"labelled data not found: {path}")
    return path


@pytest.mark.parametrize("name", ["dev", "extra"])
def test_targets_on_labelled_sets(parser: Parser, name: str) -> None:
    report = evaluate(_load(_dataset(name)), parser)
    summary = {
        "category": report.category_accuracy,
        "none_p": report.none_precision,
        "none_r": report.none_recall,
        "urgent_p": report.urgent_precision,
        "urgent_r": report.urgent_recall,
        "building": report.building_accuracy,
        "unit": report.unit_accuracy,
        "room": report.room_accuracy,
    }
    assert report.category_accuracy >= 0.93, summary
    assert report.none_precision >= 0.97, summary
    assert report.none_recall >= 0.90, summary
    assert report.urgent_recall == 1.0, summary
    assert report.urgent_precision >= 0.90, summary
    assert report.building_accuracy >= 0.97, summary
    assert report.unit_accuracy >= 0.97, summary
    assert report.room_accuracy >= 0.97, summary


def test_extra_file_is_well_formed() -> None:
    rows = _load(EXTRA_FILE)
    assert len(rows) >= 300
    allowed = {*CATEGORIES, NOT_A_REQUEST}
    keys = {"text", "category", "also", "building", "unit", "room", "urgent"}
    texts = set()
    for row in rows:
        assert set(row) == keys
        assert row["category"] in allowed and set(row["also"]) <= allowed
        assert isinstance(row["urgent"], bool)
        texts.add(row["text"])
    assert len(texts) == len(rows)
    if DEV_FILE.exists():
        assert not texts & {row["text"] for row in _load(DEV_FILE)}
