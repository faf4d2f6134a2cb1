"""Names Compose made: an import names each resource as the running project has it."""

from reconciler.importing.compose_names import Naming, running_project
from tests.unit.compose_import import converted, project, table_lines

V1 = {"com.docker.compose.project": "shop", "com.docker.compose.version": "1.29.2"}
V2 = {"com.docker.compose.project": "shop", "com.docker.compose.version": "2.24.0"}


def labelled(base, service, number="1"):
    return {**base, "com.docker.compose.service": service, "com.docker.compose.container-number": number}


def test_a_compose_v1_project_names_its_containers_project_service_number():
    running = running_project("shop", [("shop_web_1", labelled(V1, "web")), ("other_db_1", {})])
    naming = Naming("shop", running)

    assert (naming.container("web", None), naming.container("worker", None)) == ("shop_web_1", "shop_worker_1")


def test_a_compose_v2_project_names_new_containers_with_dashes():
    naming = Naming("shop", running_project("shop", [("shop-web-1", labelled(V2, "web"))]))

    assert naming.container("worker", None) == "shop-worker-1"


def test_the_lowest_numbered_container_of_a_service_gives_its_name():
    running = running_project("shop", [("shop_web_2", labelled(V1, "web", "2")), ("shop_web_1", labelled(V1, "web"))])

    assert running.containers == {"web": "shop_web_1"}


def test_a_running_container_name_wins_over_container_name():
    naming = Naming("shop", running_project("shop", [("old-name", labelled(V1, "web"))]))

    assert naming.container("web", "new-name") == "old-name"


def test_without_a_running_project_names_are_the_keys_or_their_given_names_and_the_default_network_is_prefixed():
    naming = Naming("shop")

    assert [naming.container("web", None), naming.container("db", "main-db"), naming.network("default", None),
            naming.volume("data", "shared-data")] == ["web", "main-db", "shop_default", "shared-data"]


def test_with_a_running_project_networks_and_volumes_are_prefixed_with_the_project():
    naming = Naming("shop", running_project("shop", [("shop_web_1", labelled(V1, "web"))]))

    assert [naming.network("default", None), naming.volume("data", None), naming.volume("x", "given")] == [
        "shop_default", "shop_data", "given"]


def test_no_container_of_the_project_means_no_running_project():
    assert running_project("shop", [("shop_web_1", labelled({**V1, "com.docker.compose.project": "other"}, "web"))]) \
        is None


def test_a_conversion_names_every_reference_as_the_running_project_does():
    naming = Naming("shop", running_project("shop", [("shop_db_1", labelled(V1, "db")),
                                                      ("shop_web_1", labelled(V1, "web"))]))
    compose = project({"db": {"image": "x", "volumes": ["data:/d"]}, "web": {"image": "y", "depends_on": ["db"]}},
                      volumes={"data": None}, name="shop")
    conversion = converted(compose, naming=naming)

    assert table_lines(conversion, "web.toml") == [
        "[container.shop_web_1]", 'image = "y"', 'depends_on = ["shop_db_1"]',
        'networks = {shop_default = {aliases = ["web"]}} # Compose\'s default network, with the service\'s name as '
        "alias"]
    assert table_lines(conversion, "db.toml")[2] == 'mounts = ["shop_data:/d"] # from volumes'


def test_adopting_marks_the_resources_whose_names_are_held():
    conversion = converted(project({"web": {"image": "x"}})).adopting({"container": {"web"}})

    assert table_lines(conversion, "web.toml")[-1] == "adopt = true"
    assert table_lines(conversion, "networks.toml") == ["[network.proj_default]"]
