"""The discovery scrubber, one test per spelling of a secret: the value is masked (and collected for the
final scrub), the rest of the string or command line is kept. Then the look-alikes that must stay."""
import pytest

from ansible_collections.hybridops.fleet.plugins.module_utils._discover.secrets import (
    MARKER,
    is_secret_name,
    redact_argv,
    redact_env,
    redact_text,
    scrub,
)

M = MARKER


def text(value):
    found = set()
    return redact_text(value, found), found


def argv(*words):
    found = set()
    return redact_argv(list(words), found), found


# ---------------------------------------------------------------- strings (env values, descriptions, argv words)

def test_jdbc_url_password_parameter():
    assert text("jdbc:mysql://db:3306/app?user=app&password=Jdbc-s3cret&useSSL=false") == (
        "jdbc:mysql://db:3306/app?user=app&password=%s&useSSL=false" % M, {"Jdbc-s3cret"})


def test_jdbc_sqlserver_semicolon_password():
    assert text("jdbc:sqlserver://db:1433;databaseName=app;user=sa;password=Mss-s3cret!;encrypt=true") == (
        "jdbc:sqlserver://db:1433;databaseName=app;user=sa;password=%s;encrypt=true" % M, {"Mss-s3cret!"})


def test_ado_connection_string_password_with_spaces():
    assert text("Server=db;Database=app;User Id=sa;Password=correct horse battery;Encrypt=True") == (
        "Server=db;Database=app;User Id=sa;Password=%s;Encrypt=True" % M, {"correct horse battery"})


def test_connection_string_as_one_argument():
    assert argv("/opt/app/bin/app", "--db", "Server=db;User Id=sa;Password=two words;") == (
        ["/opt/app/bin/app", "--db", "Server=db;User Id=sa;Password=%s;" % M], {"two words"})


def test_odbc_pwd_in_braces():
    assert text("Driver={ODBC Driver 18 for SQL Server};Server=db;Uid=sa;Pwd={p;w0rd}") == (
        "Driver={ODBC Driver 18 for SQL Server};Server=db;Uid=sa;Pwd={%s}" % M, {"p;w0rd"})


def test_odbc_pwd_plain():
    assert text("DSN=app;UID=report;PWD=Odbc-pw-9;") == ("DSN=app;UID=report;PWD=%s;" % M, {"Odbc-pw-9"})


def test_java_opts_system_property_password():
    assert text("-Xmx512m -Dspring.datasource.password=Java-s3cret -Dfile.encoding=UTF-8") == (
        "-Xmx512m -Dspring.datasource.password=%s -Dfile.encoding=UTF-8" % M, {"Java-s3cret"})


def test_token_as_url_user():
    assert text("https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/org/repo.git") == (
        "https://%s@github.com/org/repo.git" % M, {"ghp_16C7e42F292c6912E7710c838347Ae178B4a"})


def test_long_random_url_user_is_a_token():
    assert text("https://a1b2c3d4e5f6g7h8i9j0@git.example.org/r") == (
        "https://%s@git.example.org/r" % M, {"a1b2c3d4e5f6g7h8i9j0"})


def test_url_password_containing_at():
    assert text("postgres://app:p@ss@w0rd@db:5432/app") == ("postgres://app:%s@db:5432/app" % M, {"p@ss@w0rd"})


def test_url_password_empty_user():
    assert text("redis://:Redis-pw-1@cache:6379/0") == ("redis://:%s@cache:6379/0" % M, {"Redis-pw-1"})


def test_query_access_token():
    assert text("https://api.example.org/v1/hook?access_token=Tok-123456&verbose=1") == (
        "https://api.example.org/v1/hook?access_token=%s&verbose=1" % M, {"Tok-123456"})


def test_query_api_key():
    assert text("https://maps.example.org/geo?q=x&api_key=Key-abcdef") == (
        "https://maps.example.org/geo?q=x&api_key=%s" % M, {"Key-abcdef"})


def test_query_apikey():
    assert text("http://127.0.0.1:9000/metrics?apikey=Apik-778899&format=prom") == (
        "http://127.0.0.1:9000/metrics?apikey=%s&format=prom" % M, {"Apik-778899"})


def test_authorization_bearer_header():
    assert text("Authorization: Bearer eyJhbGciOi.payload.sig") == ("Authorization: Bearer %s" % M,
                                                                    {"eyJhbGciOi.payload.sig"})


def test_authorization_basic_header():
    assert text("authorization: Basic dXNlcjpwdw==") == ("authorization: Basic %s" % M, {"dXNlcjpwdw=="})


def test_private_token_header():
    assert text("PRIVATE-TOKEN: glpat-abcdefghij") == ("PRIVATE-TOKEN: %s" % M, {"glpat-abcdefghij"})


# ---------------------------------------------------------------- variable names

@pytest.mark.parametrize("name", ["GITHUB_PAT", "GITLAB_PAT", "SLACK_TOKEN", "WEBHOOK_SECRET", "MAPS_APIKEY",
                                  "STRIPE_API_KEY", "MYSQL_PWD", "DB_PW"])
def test_secret_variable_names(name):
    assert is_secret_name(name)
    found = set()
    assert redact_env([(name, "Value-%s-1" % name), ("LANG", "C.UTF-8")], found) == {name: M, "LANG": "C.UTF-8"}
    assert found == {"Value-%s-1" % name}


@pytest.mark.parametrize("name", ["PATH", "PATTERN", "PWD", "OLDPWD", "GITHUB_PAT_FILE", "PW_PATH", "SPAWN",
                                  "LANG", "HOME", "AUTH_METHOD", "authSource", "AUTHOR"])
def test_names_that_are_not_secrets(name):
    assert not is_secret_name(name)


def test_java_opts_variable_keeps_the_other_options():
    found = set()
    env = redact_env([("JAVA_OPTS", "-Xms256m -Dapp.db.password=Env-s3cret -Dapp.port=8080")], found)
    assert env == {"JAVA_OPTS": "-Xms256m -Dapp.db.password=%s -Dapp.port=8080" % M} and found == {"Env-s3cret"}


# ---------------------------------------------------------------- command lines

def test_mongo_dash_p_separate():
    assert argv("/usr/bin/mongodump", "-u", "backup", "-p", "Mongo-pw-7", "--out", "/srv/dump") == (
        ["/usr/bin/mongodump", "-u", "backup", "-p", M, "--out", "/srv/dump"], {"Mongo-pw-7"})


def test_mysql_dash_p_attached():
    assert argv("/usr/bin/mysqldump", "-u", "root", "-pMy-s3cret", "--all-databases") == (
        ["/usr/bin/mysqldump", "-u", "root", "-p" + M, "--all-databases"], {"My-s3cret"})


def test_mariadb_dash_p_attached_after_sudo():
    assert argv("sudo", "-u", "app", "/usr/bin/mariadb", "-pMaria-pw", "app") == (
        ["sudo", "-u", "app", "/usr/bin/mariadb", "-p" + M, "app"], {"Maria-pw"})


def test_sshpass_dash_p_and_the_ssh_port_kept():
    assert argv("sshpass", "-p", "Sshpass-pw", "ssh", "-p", "2222", "backup@127.0.0.1") == (
        ["sshpass", "-p", M, "ssh", "-p", "2222", "backup@127.0.0.1"], {"Sshpass-pw"})


def test_sshpass_dash_p_attached():
    assert argv("/usr/bin/sshpass", "-pSshpass-pw2", "rsync", "-a", "/srv", "h:/srv") == (
        ["/usr/bin/sshpass", "-p" + M, "rsync", "-a", "/srv", "h:/srv"], {"Sshpass-pw2"})


def test_curl_dash_u_user_password():
    assert argv("curl", "-fsS", "-u", "admin:Curl-pw-3", "http://127.0.0.1:8080/health") == (
        ["curl", "-fsS", "-u", "admin:" + M, "http://127.0.0.1:8080/health"], {"Curl-pw-3"})


def test_curl_user_attached_and_long():
    assert argv("curl", "-uadmin:Curl-pw-4", "--user=ops:Curl-pw-5", "http://x/") == (
        ["curl", "-uadmin:" + M, "--user=ops:" + M, "http://x/"], {"Curl-pw-4", "Curl-pw-5"})


def test_curl_authorization_header_one_word():
    assert argv("curl", "-H", "Authorization: Bearer Bearer-tok-1", "-H", "Accept: application/json", "http://x/") == (
        ["curl", "-H", "Authorization: Bearer " + M, "-H", "Accept: application/json", "http://x/"],
        {"Bearer-tok-1"})


def test_authorization_header_split_by_lost_quoting():
    assert argv("curl", "-H", "Authorization:", "Bearer", "Bearer-tok-2", "http://x/") == (
        ["curl", "-H", "Authorization:", "Bearer", M, "http://x/"], {"Bearer-tok-2"})


def test_double_dash_pw():
    assert argv("/opt/app/bin/app", "--pw", "Pw-secret-1", "--port", "8080") == (
        ["/opt/app/bin/app", "--pw", M, "--port", "8080"], {"Pw-secret-1"})


def test_double_dash_password_equals():
    assert argv("/opt/app/bin/app", "--password=Pw-secret-2", "--verbose") == (
        ["/opt/app/bin/app", "--password=" + M, "--verbose"], {"Pw-secret-2"})


def test_redis_cli_dash_a():
    assert argv("redis-cli", "-h", "127.0.0.1", "-a", "Redis-pw-2", "ping") == (
        ["redis-cli", "-h", "127.0.0.1", "-a", M, "ping"], {"Redis-pw-2"})


def test_docker_login_dash_p():
    assert argv("docker", "login", "-u", "ci", "-p", "Reg-pw-1", "registry.local") == (
        ["docker", "login", "-u", "ci", "-p", M, "registry.local"], {"Reg-pw-1"})


def test_shell_string_keeps_its_spelling():
    assert argv("/bin/sh", "-c", "mysqldump -u root -pSh-s3cret app | gzip > /srv/app.sql.gz") == (
        ["/bin/sh", "-c", "mysqldump -u root -p%s app | gzip > /srv/app.sql.gz" % M], {"Sh-s3cret"})


def test_found_secrets_are_scrubbed_from_the_whole_result():
    cmd, found = argv("sshpass", "-p", "Sshpass-pw3", "ssh", "h")
    assert scrub({"command": cmd, "description": "uses Sshpass-pw3"}, found) == {
        "command": ["sshpass", "-p", M, "ssh", "h"], "description": "uses " + M}


# ---------------------------------------------------------------- look-alikes that must stay

@pytest.mark.parametrize("words", [
    ["/usr/bin/docker", "run", "-p", "8080:80", "--name", "mysql", "-p3306:3306", "mysql:8"],
    ["/bin/mkdir", "-p", "/run/app"],
    ["/usr/bin/ssh", "-p", "2222", "-N", "-L", "5432:127.0.0.1:5432", "db"],
    ["/usr/bin/psql", "-h", "db", "-p", "5432", "-U", "app"],
    ["/usr/lib/postgresql/15/bin/pg_dump", "-p", "5432", "app"],
    ["/usr/bin/mysql", "-p", "appdb"],
    ["/usr/sbin/mysqld", "--port=3306", "-P", "3306"],
    ["/usr/bin/curl", "-u", "anonymous", "-H", "Accept: application/json", "https://git@example.org/x"],
    ["/usr/bin/redis-server", "--port", "6379", "--appendonly", "yes"],
    ["/usr/bin/cp", "-p", "a", "b"],
    ["/usr/bin/app", "--auth=none", "--key-file", "/etc/app/key.pem", "--ssl-key=/etc/ssl/k.pem"],
    ["/usr/bin/java", "-Dlog4j.configurationFile=/etc/app/log4j2.xml", "-Dserver.port=8080", "-jar", "/srv/a.jar"],
    ["/usr/bin/git", "clone", "https://git@github.com/org/repo.git"],
])
def test_look_alikes_are_kept(words):
    assert argv(*words) == (words, set())


@pytest.mark.parametrize("value", [
    "jdbc:postgresql://db:5432/app?user=app&ssl=true",
    "Server=db;Database=app;Trusted_Connection=True",
    "https://example.org/search?q=password&page=2",
    "http://admin@127.0.0.1:8080/",
    "ssh://git@github.com/org/repo.git",
    "Accept: application/json",
    "PWD=/var/lib/app",
    "mongodb://db1,db2/app?authSource=admin&authMechanism=SCRAM-SHA-256&replicaSet=rs0",
])
def test_look_alike_strings_are_kept(value):
    assert text(value) == (value, set())
