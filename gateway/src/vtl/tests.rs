//! Examples modelled on AWS's documentation (payloads paraphrased), bad templates with
//! their error positions, and edge cases.

use std::collections::BTreeMap;

use super::*;

#[derive(Default)]
struct Req {
    body: String,
    headers: BTreeMap<String, String>,
    querystring: BTreeMap<String, String>,
    path: BTreeMap<String, String>,
    context: serde_json::Value,
    stage: BTreeMap<String, String>,
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Req {
    fn body(body: &str) -> Req {
        Req {
            body: body.into(),
            context: serde_json::json!({}),
            ..Default::default()
        }
    }

    fn try_render(&self, template: &str) -> Result<String, VtlError> {
        let t = Template::parse(template)?;
        t.render(&Input {
            body: &self.body,
            headers: &self.headers,
            querystring: &self.querystring,
            path: &self.path,
            context: &self.context,
            stage_variables: &self.stage,
        })
    }

    fn render(&self, template: &str) -> String {
        match self.try_render(template) {
            Ok(s) => s,
            Err(e) => panic!("template {template:?} failed: {e}"),
        }
    }
}

fn render(template: &str, body: &str) -> String {
    Req::body(body).render(template)
}

fn parse_err(template: &str) -> VtlError {
    match Template::parse(template) {
        Ok(_) => panic!("template {template:?} should not parse"),
        Err(e) => e,
    }
}

fn render_err(template: &str, body: &str) -> VtlError {
    match Req::body(body).try_render(template) {
        Ok(out) => panic!("template {template:?} should fail, rendered {out:?}"),
        Err(e) => e,
    }
}

const PETS: &str = r#"{"name":"Bob","pets":[{"type":"dog","price":249.99},{"type":"cat","price":124.99}],"age":42}"#;

#[test]
fn template_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Template>();
}

// --- AWS documentation examples -------------------------------------------------------

#[test]
fn aws_all_params_loop() {
    let req = Req {
        path: map(&[("petId", "7")]),
        querystring: map(&[("verbose", "yes")]),
        headers: map(&[("User-Agent", "ws/1"), ("X-Trace", "t-1")]),
        ..Req::body("")
    };
    let template = r#"#set($allParams = $input.params())
{
  "params" : {
    #foreach($type in $allParams.keySet())
    #set($params = $allParams.get($type))
    "$type" : {
      #foreach($paramName in $params.keySet())
      "$paramName" : "$util.escapeJavaScript($params.get($paramName))"
      #if($foreach.hasNext),#end
      #end
    }
    #if($foreach.hasNext),#end
    #end
  }
}
"#;
    let expected = r#"{
  "params" : {
    "path" : {
      "petId" : "7"
      
    }
    ,
    "querystring" : {
      "verbose" : "yes"
      
    }
    ,
    "header" : {
      "User-Agent" : "ws\/1"
      ,
      "X-Trace" : "t-1"
      
    }
    
  }
}
"#;
    let out = req.render(template);
    assert_eq!(out, expected);
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
}

#[test]
fn aws_name_and_whole_body() {
    let req = Req {
        querystring: map(&[("name", "Alice")]),
        ..Req::body(r#"{"mykey": {"a": [1, 2]}, "z": true}"#)
    };
    let t = "{\n    \"name\" : \"$input.params('name')\",\n    \"body\" : $input.json('$')\n}";
    assert_eq!(
        req.render(t),
        "{\n    \"name\" : \"Alice\",\n    \"body\" : {\"mykey\":{\"a\":[1,2]},\"z\":true}\n}"
    );
    let t =
        "{\n    \"name\" : \"$input.params('name')\",\n    \"body\" : $input.json('$.mykey')\n}";
    assert_eq!(
        req.render(t),
        "{\n    \"name\" : \"Alice\",\n    \"body\" : {\"a\":[1,2]}\n}"
    );
}

#[test]
fn aws_things_request() {
    let req = Req {
        path: map(&[("id", "abc")]),
        ..Req::body(r#"{"things": {"1": {}, "2": {}, "3": {}}}"#)
    };
    let t = r#"{
    "id" : "$input.params('id')",
    "count" : "$input.path('$.things').size()",
    "things" : $util.escapeJavaScript($input.json('$.things'))
}"#;
    assert_eq!(
        req.render(t),
        r#"{
    "id" : "abc",
    "count" : "3",
    "things" : {\"1\":{},\"2\":{},\"3\":{}}
}"#
    );
}

#[test]
fn aws_parse_json_error_message() {
    let body = r#"{"errorMessage":"{\"key1\":\"var1\",\"key2\":{\"arr\":[1,2,3]}}"}"#;
    let t = "#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))\n{\n   \"errorMessageObjKey2ArrVal\" : $errorMessageObj.key2.arr[0]\n}\n";
    assert_eq!(
        render(t, body),
        "{\n   \"errorMessageObjKey2ArrVal\" : 1\n}\n"
    );
}

#[test]
fn aws_escape_javascript_and_quote_fix() {
    let body = r#"{"msg":"He said \"hi\"\nit's /ok/ é"}"#;
    assert_eq!(
        render("$util.escapeJavaScript($input.path('$.msg'))", body),
        r#"He said \"hi\"\nit\'s \/ok\/ \u00E9"#
    );
    // AWS's documented workaround for `\'` not being valid JSON.
    assert_eq!(
        render(
            r#"$util.escapeJavaScript($input.path('$.msg')).replaceAll("\\'","'")"#,
            body
        ),
        r#"He said \"hi\"\nit's \/ok\/ \u00E9"#
    );
}

#[test]
fn aws_context_variables() {
    let req = Req {
        context: serde_json::json!({
            "stage": "prod",
            "requestId": "req-1",
            "identity": {"sourceIp": "192.0.2.1", "userAgent": "curl/8"},
            "authorizer": {"principalId": "user-9", "numKey": "1"}
        }),
        ..Req::body("")
    };
    let t = r#"{
    "stage" : "$context.stage",
    "request_id" : "$context.requestId",
    "source_ip" : "$context.identity.sourceIp",
    "user-agent" : "$context.identity.userAgent",
    "principal" : "$context.authorizer.principalId",
    "num" : "$context.authorizer.numKey",
    "api_key" : "$!context.identity.apiKey"
}"#;
    assert_eq!(
        req.render(t),
        r#"{
    "stage" : "prod",
    "request_id" : "req-1",
    "source_ip" : "192.0.2.1",
    "user-agent" : "curl/8",
    "principal" : "user-9",
    "num" : "1",
    "api_key" : ""
}"#
    );
}

#[test]
fn aws_foreach_builds_json_array() {
    let t = r#"#set($inputRoot = $input.path('$'))
[
#foreach($elem in $inputRoot.items)
  {"id": "$elem.id", "n": $foreach.count}#if($foreach.hasNext),#end
#end
]"#;
    let out = render(t, r#"{"items":[{"id":"a"},{"id":"b"}]}"#);
    assert_eq!(
        out,
        "[\n  {\"id\": \"a\", \"n\": 1},\n  {\"id\": \"b\", \"n\": 2}\n]"
    );
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
}

#[test]
fn websocket_connection_and_body() {
    let req = Req {
        context: serde_json::json!({"connectionId": "L0SM9cOFvHcCIhw=", "routeKey": "sendmessage"}),
        ..Req::body(r#"{"action":"sendmessage","data":"hi"}"#)
    };
    assert_eq!(
        req.render(r#"{"connectionId":"$context.connectionId", "body":$input.json('$')}"#),
        r#"{"connectionId":"L0SM9cOFvHcCIhw=", "body":{"action":"sendmessage","data":"hi"}}"#
    );
}

#[test]
fn sqs_send_message_form_body() {
    let out = render(
        "Action=SendMessage&MessageBody=$util.urlEncode($input.json('$'))",
        r#"{"msg":"a b&c=d*é"}"#,
    );
    assert_eq!(
        out,
        "Action=SendMessage&MessageBody=%7B%22msg%22%3A%22a+b%26c%3Dd*%C3%A9%22%7D"
    );
}

#[test]
fn dynamodb_put_item() {
    let req = Req {
        headers: map(&[("User-Agent", "chat-client/2")]),
        context: serde_json::json!({"connectionId": "abc="}),
        ..Req::body(r#"{"room":"lobby"}"#)
    };
    let t = r#"{
    "TableName": "connections",
    "Item": {
        "connectionId": {"S": "$context.connectionId"},
        "userAgent": {"S": "$input.params().get('header').get('User-Agent')"},
        "room": {"S": "$input.path('$.room')"}
    }
}"#;
    assert_eq!(
        req.render(t),
        r#"{
    "TableName": "connections",
    "Item": {
        "connectionId": {"S": "abc="},
        "userAgent": {"S": "chat-client/2"},
        "room": {"S": "lobby"}
    }
}"#
    );
}

#[test]
fn step_functions_start_execution() {
    let t = r#"{"input": "$util.escapeJavaScript($input.json('$'))", "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Chat"}"#;
    let out = render(t, r#"{"text": "hi \"you\""}"#);
    assert_eq!(
        out,
        r#"{"input": "{\"text\":\"hi \\\"you\\\"\"}", "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Chat"}"#
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(v["input"], r#"{"text":"hi \"you\""}"#);
}

// --- $input ----------------------------------------------------------------------------

#[test]
fn input_json_and_path() {
    let cases = [
        ("$input.json('$.name')", r#""Bob""#),
        ("$input.path('$.name')", "Bob"),
        (
            "$input.json('$.pets[0]')",
            r#"{"type":"dog","price":249.99}"#,
        ),
        ("$input.json(\"$['pets'][1]['type']\")", r#""cat""#),
        ("$input.path('$.pets').size()", "2"),
        ("$input.path('$.pets[1].type')", "cat"),
        ("$input.path('$.pets')[1].price", "124.99"),
        ("$input.json('$.pets[*].type')", r#"["dog","cat"]"#),
        ("$input.json('$..price')", "[249.99,124.99]"),
        ("$input.json('$.pets[-1].type')", r#""cat""#),
        ("$input.json('$.pets.length()')", "2"),
        ("$input.json('name')", r#""Bob""#),
        ("$input.json('$.nothing[*]')", "[]"),
        (
            "$input.path('$')",
            r#"{name=Bob, pets=[{"type":"dog","price":249.99},{"type":"cat","price":124.99}], age=42}"#,
        ),
        (
            "$input.path('$.pets')",
            r#"[{"type":"dog","price":249.99},{"type":"cat","price":124.99}]"#,
        ),
        ("$input.path('$.pets[0]')", "{type=dog, price=249.99}"),
        ("#set($n = $input.path('$.age') + 1)$n", "43"),
        ("$input.path('$.age').getClass()", ""),
        ("$input.json('$.missing')", r#""""#),
        ("$input.path('$.missing')", ""),
        ("[$!input.path('$.missing')]", "[]"),
        (
            "$util.toJson($input.path('$.pets[1]'))",
            r#"{"type":"cat","price":124.99}"#,
        ),
    ];
    for (t, expected) in cases {
        assert_eq!(render(t, PETS), expected, "template {t}");
    }
}

#[test]
fn input_body_and_non_json_bodies() {
    assert_eq!(render("$input.body", "hello there"), "hello there");
    assert_eq!(render("$input.body", ""), "{}");
    assert_eq!(render("$input.json('$')", ""), "{}");
    assert_eq!(
        render("$input.json('$')", "  [1, 2.0, \"x\", null]  "),
        r#"[1,2.0,"x",null]"#
    );
    assert_eq!(
        render("$input.json('$')", "\"just a string\""),
        r#""just a string""#
    );
    let e = render_err("ok\n  $input.json('$')", "hello");
    assert_eq!((e.line, e.column), (2, 10));
    assert!(
        e.message
            .starts_with("Could not parse request body into json"),
        "{}",
        e.message
    );
    let e = render_err("$input.path('$.a')", "{\"a\": ");
    assert!(
        e.message
            .starts_with("Could not parse request body into json"),
        "{}",
        e.message
    );
}

#[test]
fn input_keeps_key_order_and_numbers() {
    assert_eq!(
        render(
            "$input.json('$')",
            r#"{"z":1,"a":[1,2.50,true,null],"m":1e3}"#
        ),
        r#"{"z":1,"a":[1,2.5,true,null],"m":1000.0}"#
    );
}

#[test]
fn input_params_lookup_order() {
    let req = Req {
        path: map(&[("id", "from-path")]),
        querystring: map(&[("id", "from-query"), ("q", "query")]),
        headers: map(&[("id", "from-header"), ("X-Api", "h")]),
        ..Req::body("")
    };
    assert_eq!(
        req.render(
            "$input.params('id') $input.params('q') $input.params('X-Api') $input.params('x-api')"
        ),
        "from-path query h h"
    );
    assert_eq!(req.render("[$input.params('absent')]"), "[]");
    assert_eq!(
        req.render("$input.params().header.get('X-Api') $input.params().querystring.q"),
        "h query"
    );
    assert_eq!(req.render("$input.params().path"), "{id=from-path}");
}

// --- $util -----------------------------------------------------------------------------

#[test]
fn util_functions() {
    let cases = [
        (
            r#"$util.urlEncode("a b&c=d/é*~")"#,
            "a+b%26c%3Dd%2F%C3%A9*%7E",
        ),
        (r#"$util.urlDecode("a+b%26c%3D%C3%A9")"#, "a b&c=é"),
        ("$util.base64Encode('hello wörld')", "aGVsbG8gd8O2cmxk"),
        ("$util.base64Decode('aGVsbG8gd8O2cmxk')", "hello wörld"),
        ("$util.base64Decode('aGk')", "hi"),
        (r#"$util.parseJson('{"a":[1,{"b":2}]}').a[1].b"#, "2"),
        (r#"$util.parseJson('[3,4]').size()"#, "2"),
        (
            r#"$util.toJson({"k": [1, "two", true, null]})"#,
            r#"{"k":[1,"two",true,null]}"#,
        ),
        ("$util.escapeJavaScript('tab\there')", "tab\\there"),
        ("$util.escapeJavaScript($nothing)", ""),
    ];
    for (t, expected) in cases {
        assert_eq!(render(t, "{}"), expected, "template {t}");
    }
}

#[test]
fn util_errors() {
    let e = render_err("x $util.nope('a')", "{}");
    assert_eq!((e.line, e.column), (1, 9));
    assert!(
        e.message.contains("unknown method $util.nope()"),
        "{}",
        e.message
    );
    let e = render_err("$util.parseJson('{bad')", "{}");
    assert!(
        e.message.starts_with("$util.parseJson: invalid JSON"),
        "{}",
        e.message
    );
    assert!(
        render_err("$util.urlDecode('%zz')", "{}")
            .message
            .contains("bad escape")
    );
    assert!(
        render_err("$util.base64Decode('***')", "{}")
            .message
            .contains("invalid base64")
    );
    assert!(
        render_err("$util.escapeJavaScript()", "{}")
            .message
            .contains("takes 1 argument")
    );
    let e = render_err("$input.json('$.a[?(@.b)]')", "{}");
    assert_eq!((e.line, e.column), (1, 8));
    assert!(e.message.contains("invalid JSONPath"), "{}", e.message);
    assert!(
        render_err("$input.json('$.a[')", "{}")
            .message
            .contains("invalid JSONPath")
    );
    assert!(
        render_err("$input.nope()", "{}")
            .message
            .contains("unknown method $input.nope()")
    );
}

// --- $stageVariables -------------------------------------------------------------------

#[test]
fn stage_variables() {
    let req = Req {
        stage: map(&[("env", "beta")]),
        ..Req::body("")
    };
    assert_eq!(req.render("$stageVariables.env $stageVariables.get('env') ${stageVariables['env']} $stageVariables['env']"), "beta beta beta beta");
    assert_eq!(
        req.render("$stageVariables.other|$!stageVariables.other"),
        "|"
    );
}

// --- References and text ---------------------------------------------------------------

#[test]
fn references_and_literal_text() {
    let cases = [
        ("$foo", ""),
        ("$!foo", ""),
        ("${foo}", ""),
        ("$!{foo}", ""),
        ("$foo.bar($x)", ""),
        (
            "Price: $5, \"$\" and $ alone, $!",
            "Price: $5, \"$\" and $ alone, $!",
        ),
        ("#set($a = 'x')${a}y $a.", "xy x."),
        ("#set($a = 'x')\\$a \\#if \\\\$a", "$a #if \\x"),
        ("#fff #1 #notadirective", "#fff #1 #notadirective"),
        ("a ## comment\nb", "a b"),
        ("A#* block\ncomment *#B", "AB"),
        ("#[[ $raw #if ]]#", " $raw #if "),
        ("#set($n = 'Bob')#set($g = \"Hi $n!\")$g", "Hi Bob!"),
        ("#set($n = 'Bob')#set($g = 'Hi $n!')$g", "Hi $n!"),
        ("#set($g = \"$nobody here\")$g", " here"),
        ("#set($x = 'it''s')$x", "it's"),
        ("#set($x = \"say \"\"hi\"\"\")$x", "say \"hi\""),
        ("#set($l = ['a', 'b'])$l[1] $l.get(0) $l", "b a [a, b]"),
        (
            "#set($m = {\"a\": 1, \"b\": [1, \"x\"]})$m $m['a'] $m.b",
            "{a=1, b=[1, x]} 1 [1, x]",
        ),
    ];
    for (t, expected) in cases {
        assert_eq!(render(t, "{}"), expected, "template {t}");
    }
}

// --- Directives ------------------------------------------------------------------------

#[test]
fn directives() {
    let cases = [
        ("#if(true)a#elseif(true)b#{else}c#end", "a"),
        ("#if(false)a#elseif(1 == 1)b#{else}c#end", "b"),
        ("#if($nope)a#{else}c#end", "c"),
        ("#{if}(true)x#{end}y", "xy"),
        ("#if(\"\")empty string is true#end", "empty string is true"),
        ("#if(0)zero is true#end", "zero is true"),
        ("#foreach($i in [1..3])$i#end", "123"),
        ("#foreach($i in [3..1])$i#end", "321"),
        ("#set($n = 2)#foreach($i in [0..$n])$i#end", "012"),
        (
            "#foreach($i in ['a','b'])$velocityCount:$i:$foreach.index #end",
            "1:a:0 2:b:1 ",
        ),
        ("#foreach($v in {\"a\": 1, \"b\": 2})$v#end", "12"),
        ("#foreach($i in [1..5])#if($i == 3)#break#end$i#end", "12"),
        ("#foreach($i in $nothing)x#end", ""),
        (
            "#foreach($i in [1, 2])#foreach($j in ['a'])$foreach.parent.count$j#end#end",
            "1a2a",
        ),
        (
            "#foreach($i in [1, 2])$foreach.first/$foreach.last/$foreach.hasNext() #end",
            "true/false/true false/true/false ",
        ),
        ("#set($i = 'kept')#foreach($i in [1])#end$i", "kept"),
        ("a#stop b", "a"),
        ("#set($x = 1)#set($x = $nothing)$x", "1"),
        (
            "#set($m = {})#set($m.k = 'v')#set($m['j'] = 'w')$m",
            "{k=v, j=w}",
        ),
        ("#set($l = [1, 2])#set($l[0] = 9)$l", "[9, 2]"),
        ("#set( $body = $input.json(\"$\") )$body", "{}"),
    ];
    for (t, expected) in cases {
        assert_eq!(render(t, "{}"), expected, "template {t}");
    }
}

#[test]
fn set_on_context_override() {
    let req = Req {
        context: serde_json::json!({"responseOverride": {"header": {}}}),
        ..Req::body("")
    };
    assert_eq!(
        req.render("#set($context.responseOverride.status = 404)$context.responseOverride.status"),
        "404"
    );
}

#[test]
fn directive_only_lines_disappear() {
    let t = "{\n  #set($a = 1)\n  ## a comment\n  #if($a == 1)\n  \"a\": $a\n  #end\n}";
    assert_eq!(render(t, "{}"), "{\n  \"a\": 1\n}");
    // A reference on the line keeps it.
    assert_eq!(render("  $!nothing #set($a = 1)\nx", "{}"), "   \nx");
}

// --- Expressions and methods -----------------------------------------------------------

#[test]
fn expressions() {
    let cases = [
        ("#set($c = 7 / 2)$c", "3"),
        ("#set($c = 7 % 2)$c", "1"),
        ("#set($c = -7 / 2)$c", "-3"),
        ("#set($c = 7.0 / 2)$c", "3.5"),
        ("#set($c = 1.0 * 2)$c", "2.0"),
        ("#set($c = 2 + 3 * 4)$c", "14"),
        ("#set($c = (2 + 3) * 4)$c", "20"),
        ("#set($c = 1 / 0)$c", ""),
        (
            "#set($c = 9223372036854775807 + 1)$c",
            "9.223372036854776E18",
        ),
        ("#set($s = 'a' + 1 + 2)$s", "a12"),
        ("#set($a = 7)#if($a gt 5 and not ($a eq 3))yes#end", "yes"),
        (
            "#if(1 == 1.0 && '1' == 1 && !(2 < 1) || false)yes#end",
            "yes",
        ),
        ("#if('abc' < 'abd' && 3 >= 3 && 2 <= 1)x#{else}y#end", "y"),
        (
            "#if($a == $b)both null are equal#end",
            "both null are equal",
        ),
        ("#if(null != 'x')yes#end", "yes"),
        ("#set($m = {'k': [1]})#if($m == {'k': [1]})deep#end", "deep"),
    ];
    for (t, expected) in cases {
        assert_eq!(render(t, "{}"), expected, "template {t}");
    }
}

#[test]
fn string_methods() {
    let pre = "#set($s = 'Hello, World')";
    let cases = [
        (
            "$s.substring(7) $s.substring(0, 5) $s.length() $s.charAt(1)",
            "World Hello 12 e",
        ),
        (
            "$s.indexOf('o') $s.indexOf('o', 5) $s.lastIndexOf('o') $s.indexOf('z')",
            "4 8 8 -1",
        ),
        (
            "$s.replace('l', 'L') $s.toUpperCase() $s.toLowerCase()",
            "HeLLo, WorLd HELLO, WORLD hello, world",
        ),
        (
            "$s.contains('World') $s.startsWith('He') $s.endsWith('x') $s.isEmpty() $s.empty",
            "true true false false false",
        ),
        (
            "$s.equals('Hello, World') $s.equalsIgnoreCase('hello, world') $s.matches('H.*d') $s.matches('ello')",
            "true true true false",
        ),
        (
            "$s.replaceAll('[aeiou]', '*') $s.replaceFirst('l+', '_')",
            "H*ll*, W*rld He_o, World",
        ),
        (
            "#set($d = '2024-01-15')$d.replaceAll(\"(\\d+)-(\\d+)-(\\d+)\", \"$3/$2/$1\")",
            "15/01/2024",
        ),
        (
            "#set($p = 'a,b,,c,,')$p.split(',') $p.split(',').size() $p.split(',', -1).size()",
            "[a, b, , c] 4 6",
        ),
        (
            "#set($p = '  pad  ')[$p.trim()] $p.concat('!')",
            "[pad]   pad  !",
        ),
        ("$s.nope() $s.length", " "),
    ];
    for (t, expected) in cases {
        assert_eq!(render(&format!("{pre}{t}"), "{}"), expected, "template {t}");
    }
    let e = render_err("#set($s = 'abc')\n$s.substring(5)", "{}");
    assert_eq!((e.line, e.column), (2, 4));
    assert!(
        e.message.contains("String index out of range"),
        "{}",
        e.message
    );
    assert!(
        render_err("#set($s = 'abc')$s.replaceAll('(?<=a)b', 'x')", "{}")
            .message
            .contains("regular expression")
    );
}

#[test]
fn list_and_map_methods() {
    let cases = [
        (
            "#set($l = [])#set($ignore = $l.add('x'))$l.add('y') $l $l.size() $l.contains('y') $l.indexOf('y')",
            "true [x, y] 2 true 1",
        ),
        (
            "#set($l = [1, 2, 3])$l.remove(0) $l $l.isEmpty() $l.set(0, 5) $l",
            "1 [2, 3] false 2 [5, 3]",
        ),
        (
            "#set($m = {})#set($_ = $m.put('k', 'v'))#foreach($e in $m.entrySet())$e.key=$e.value/$e.getKey()/$e#end",
            "k=v/k/k=v",
        ),
        (
            "#set($m = {'a': 1, 'b': 2})$m.keySet() $m.values() $m.size() $m.containsKey('a') $m.get('zz')",
            "[a, b] [1, 2] 2 true ",
        ),
        (
            "#set($m = {'a': 1})$m.put('a', 3) $m $m.remove('a') $m",
            "1 {a=3} 3 {}",
        ),
    ];
    for (t, expected) in cases {
        assert_eq!(render(t, "{}"), expected, "template {t}");
    }
    assert!(
        render_err("#set($l = [])$l.get(3)", "{}")
            .message
            .contains("out of bounds")
    );
}

// --- Bad templates ---------------------------------------------------------------------

#[test]
fn parse_errors_with_positions() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("#if($a)x", 1, 1, "unclosed #if: expected #end"),
        ("x\n#end", 2, 1, "#end without a matching #if or #foreach"),
        ("ok\n  #else", 2, 3, "#else without a matching #if"),
        (
            "#foreach($i in [1])x",
            1,
            1,
            "unclosed #foreach: expected #end",
        ),
        ("a ${name", 1, 3, "unclosed '${': expected '}'"),
        ("a ${name.x(1)", 1, 3, "unclosed '${': expected '}'"),
        ("#set($x = )", 1, 11, "unexpected ')' in expression"),
        ("#set($x 1)", 1, 9, "expected '=' in #set"),
        (
            "#set(x = 1)",
            1,
            6,
            "#set needs a reference to assign, like #set($x = 1)",
        ),
        ("#if($a == )#end", 1, 11, "unexpected ')' in expression"),
        ("#if($a\n#end", 2, 1, "unexpected '#' in #if: expected ')'"),
        ("#if true#end", 1, 1, "expected '(' after #if"),
        ("#foreach($x $list)#end", 1, 13, "expected 'in' in #foreach"),
        ("#set($x = \"abc)", 1, 11, "unclosed string literal"),
        (
            "#set($x = foo)",
            1,
            11,
            "unexpected 'foo' in expression (references start with '$')",
        ),
        (
            "#set($x = [1, 2)",
            1,
            11,
            "unclosed list: expected ',' or ']'",
        ),
        ("$a.b(1", 1, 3, "unclosed method call: expected ',' or ')'"),
        (
            "#* never closed",
            1,
            1,
            "unclosed block comment: expected '*#'",
        ),
        (
            "#macro(foo)x#end",
            1,
            1,
            "#macro is not supported in API Gateway mapping templates",
        ),
        (
            "x #parse('a.vm')",
            1,
            3,
            "#parse is not supported in API Gateway mapping templates",
        ),
        (
            "#if(true)#else#else#end",
            1,
            15,
            "#else or #elseif after #else",
        ),
    ];
    for (t, line, column, message) in cases {
        let e = parse_err(t);
        assert_eq!(
            (e.line, e.column, e.message.as_str()),
            (*line, *column, *message),
            "template {t:?}"
        );
    }
    assert_eq!(
        parse_err("#if($a)x").to_string(),
        "line 1, column 1: unclosed #if: expected #end"
    );
}

// --- Robustness ------------------------------------------------------------------------

#[test]
fn limits_instead_of_crashes() {
    let deep = format!("#set($x = {}1{})", "(".repeat(500), ")".repeat(500));
    assert!(parse_err(&deep).message.contains("nested too deeply"));
    let deep_blocks = "#if(true)".repeat(300);
    assert!(
        parse_err(&deep_blocks)
            .message
            .contains("nested too deeply")
    );
    assert!(
        render_err("#set($m = {})#set($_ = $m.put('me', $m))$m", "{}")
            .message
            .contains("nested too deeply")
    );
    assert!(
        render_err("#foreach($i in [1..2000000000])#end", "{}")
            .message
            .contains("more than")
    );
    let deep_json = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
    assert!(
        render_err("$input.json('$')", &deep_json)
            .message
            .contains("nested too deeply")
    );
}

/// Every prefix of every template above must parse or fail cleanly, and render or fail
/// cleanly: no panics on half-written templates.
#[test]
fn truncated_templates_never_panic() {
    let templates = [
        "#set($allParams = $input.params())\n{#foreach($type in $allParams.keySet())\"$type\" : $util.escapeJavaScript($allParams.get($type))#if($foreach.hasNext),#end#end}",
        "#set ($o = $util.parseJson($input.path('$.e')))$o.key2.arr[0] ${o} $!{o.x} $o['k'] #{else} \\$x #[[ raw ]]#",
        "#if($a gt 5 and not ($b eq 3))yes#elseif('x' + 1 == \"x$a\")#foreach($i in [1..3])$i#end#end ## c\n#* b *#",
        "$input.json('$..price[0:1]') $input.path(\"$['pets'][*]\").size() $s.replaceAll('(\\d)', '$1') {\"a\": [1.5e3, -2]}",
    ];
    let req = Req::body(PETS);
    for t in templates {
        let chars: Vec<char> = t.chars().collect();
        for n in 0..=chars.len() {
            let prefix: String = chars[..n].iter().collect();
            let _ = req.try_render(&prefix);
            let suffix: String = chars[n..].iter().collect();
            let _ = req.try_render(&suffix);
        }
    }
    for body in [
        "",
        "{",
        "[1,",
        "\"\\u12",
        "{\"a\":\"\\ud800\"}",
        "nul",
        "-",
        "01",
        "1e",
        "{\"a\" 1}",
    ] {
        let _ = Req::body(body).try_render("$input.json('$') $input.path('$.a')");
    }
}
