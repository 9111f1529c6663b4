"""The machine description the speed pages print: physical cores and the CPU model."""

from d2lmini.machine import cpu_model, physical_cores


def fake_cpu(root, name, package, core):
    topology = root / name / "topology"
    topology.mkdir(parents=True)
    (topology / "physical_package_id").write_text(f"{package}\n")
    (topology / "core_id").write_text(f"{core}\n")


def test_hyperthreads_of_one_core_count_once(tmp_path):
    fake_cpu(tmp_path, "cpu0", 0, 0)
    fake_cpu(tmp_path, "cpu1", 0, 0)  # a hyperthread of cpu0
    fake_cpu(tmp_path, "cpu2", 0, 1)
    fake_cpu(tmp_path, "cpu3", 1, 0)  # core 0 of a second package is another core
    assert physical_cores(tmp_path) == 3


def test_no_topology_means_unknown(tmp_path):
    assert physical_cores(tmp_path) is None
    (tmp_path / "cpu0" / "topology").mkdir(parents=True)  # present but without the files
    assert physical_cores(tmp_path) is None


def test_cpu_model_reads_model_name_or_falls_back(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Example CPU 9000\n")
    assert cpu_model(info) == "Example CPU 9000"
    assert isinstance(cpu_model(tmp_path / "missing"), str)
