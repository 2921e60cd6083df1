"""The extended tier: tests moved out of ``make test`` for time, each with the fast test that covers
its property.

``make test`` (the default suite) must stay under 8 minutes on a 2-core machine; CI also runs
``make test-extended`` (these tests), so every test below still runs before a change lands. Each entry maps a test id
(as pytest prints it, relative to the repository root) to the test of the default suite that
checks the same property more cheaply (a smaller parameter, a one-shape version, the unit under
the end-to-end path). ``tests/conftest.py`` marks these ``extended`` at collection and refuses
an entry that names no collected test or whose cover is not in the default suite. The ``slow``
marker is another tier: exhaustive searches and every experiment at its quick size (``make
test-slow``, more than 30 minutes), run by hand, not by CI.

The entries were chosen from ``pytest --durations=0`` of the whole suite (``make test`` took
23 min on the 2-core CI machine before the move): every test over ~6 s whose property a cheaper
test already checks, and fixtures only when every user of the fixture moved. A key without
``::`` is a whole file (every test of it shares one expensive module fixture).
"""

from __future__ import annotations

EXTENDED = {
    # --- doctests whose examples compile programs the unit tests below also compile
    "jaxnn_nonconv/detector/_bab.py::jaxnn_nonconv.detector._bab.decide": (
        "tests/models/test_split.py::test_splitting_decides_what_the_grid_left_and_agrees_with_brute_force"
    ),
    "jaxnn_nonconv/detector/_deep_activations.py::jaxnn_nonconv.detector._deep_activations.classify_activation": (
        "tests/detector/test_deep_activations.py::test_constructed_clip_net"
    ),
    "jaxnn_nonconv/detector/_deep_activations.py::jaxnn_nonconv.detector._deep_activations.ibp_bounds": (
        "tests/detector/test_deep_activation_wiring.py::test_relu_intervals_match_the_relu_ibp"
    ),
    "jaxnn_nonconv/detector/_detect.py::jaxnn_nonconv.detector._detect.classify_neurons": (
        "tests/detector/test_inactive.py::test_make_detector_equals_per_network_classify[box1-arch1-ibp]"
    ),
    "jaxnn_nonconv/detector/_detect.py::jaxnn_nonconv.detector._detect.exact_1d_max": (
        "tests/detector/test_inactive.py::test_exact_1d_against_affine_pieces_and_grid"
    ),
    "jaxnn_nonconv/detector/_detect.py::jaxnn_nonconv.detector._detect.make_detector": (
        "tests/detector/test_inactive.py::test_detect_flat_matches_make_detector"
    ),
    "jaxnn_nonconv/detector/_vertices.py::jaxnn_nonconv.detector._vertices.layer2_max": (
        "tests/detector/test_detect_nd.py::test_layer2_max_matches_lp_and_grid"
    ),
    "jaxnn_nonconv/engine/_driver.py::jaxnn_nonconv.engine._driver.run": (
        "tests/engine/test_train.py::test_trial_results_do_not_depend_on_number_of_trials"
    ),
    "jaxnn_nonconv/estimation/_init_summary.py::jaxnn_nonconv.estimation._init_summary.estimate_at_init": (
        "tests/estimation/test_estimate.py::test_shallow_estimates_reproduce_closed_forms[(1, 4, 1)-[(1, 2)]-pytorch-True]"
    ),
    "jaxnn_nonconv/estimation/_init_summary.py::jaxnn_nonconv.estimation._init_summary.summarize": (
        "tests/estimation/test_estimate.py::test_summary_brackets_when_unknowns_remain"
    ),
    "jaxnn_nonconv/estimation/_training.py::jaxnn_nonconv.estimation._training.train_failure": (
        "tests/estimation/test_failure.py::test_failure_after_training_is_typed"
    ),
    "jaxnn_nonconv/exact/_breakpoints.py::jaxnn_nonconv.exact._breakpoints.analyze": (
        "tests/exact/test_breakpoints.py::test_wide_box_narrow_bump_of_the_issue_is_never_inactive"
    ),
    "jaxnn_nonconv/exact/_risk.py::jaxnn_nonconv.exact._risk.risk": (
        "tests/exact/test_exact_risk.py::test_exact_risk_equals_brute_force_quadrature[x^2-depth1]"
    ),
    "jaxnn_nonconv/experiments/_trials.py::jaxnn_nonconv.experiments._trials": (
        "tests/experiments/test_growth.py::test_store_grows_256_to_512"
    ),
    "jaxnn_nonconv/models/_check.py::jaxnn_nonconv.models._check.check": (
        "tests/models/test_check.py::test_every_source_reports_exactly_the_constructed_neurons[1]"
    ),
    "jaxnn_nonconv/rare/_splitting.py::jaxnn_nonconv.rare._splitting.rare_event": (
        "tests/rare/test_rare.py::test_reproducible_and_seed_dependent"
    ),
    # --- bench
    "tests/bench/test_bench.py::test_engine_batches_are_the_engines[adam]": (
        "tests/bench/test_bench.py::test_engine_batches_are_the_engines[sgd]"
    ),
    "tests/bench/test_bench.py::test_jax_loop_equals_engine[adam]": (
        "tests/bench/test_bench.py::test_jax_loop_equals_engine[sgd]"
    ),
    "tests/bench/test_bench.py::test_measurement_in_a_subprocess": (
        "tests/bench/test_bench.py::test_report_keeps_the_json_contract"
    ),
    # --- cli
    "tests/cli/test_check_activation.py::test_default_is_stored_else_relu": (
        "tests/models/test_formats.py::test_npz_carries_its_activation_and_says_when_relu_was_assumed"
    ),
    "tests/cli/test_check_activation.py::test_frozen_parameters_have_zero_gradient": (
        "tests/models/test_check.py::test_frozen_parameters_have_zero_gradient_everywhere[3]"
    ),
    "tests/cli/test_cli.py::test_float64_flag": (
        "tests/engine/test_train.py::test_float64_run_needs_x64_and_equals_fit_in_float64"
    ),
    "tests/cli/test_input_dist_cli.py::"
    "test_train_with_a_piecewise_density_reports_exact_risks_and_its_levels": (
        "tests/cli/test_input_dist_cli.py::"
        "test_the_reported_exact_risk_is_the_density_weighted_integral"
    ),
    # --- core
    "tests/core/test_width_power.py::test_no_closed_form_and_estimate_runs": (
        "tests/core/test_width_power.py::test_cli_accepts_a_spec"
    ),
    # --- detector
    "tests/detector/test_activations.py::test_estimate_clip_json_and_repu_like_relu": (
        "tests/cli/test_check_activation.py::test_clip_net_frozen_neurons"
    ),
    "tests/detector/test_deep_activation_wiring.py::test_first_layer_verdicts_are_relus[repu:2]": (
        "tests/cli/test_check_activation.py::test_repu_first_layer_is_relus"
    ),
    "tests/detector/test_deep_activations.py::test_certificates_hold_at_dense_points[1d-depth3-clip]": (
        "tests/detector/test_deep_activations.py::test_constructed_clip_net"
    ),
    "tests/detector/test_deep_activations.py::test_certificates_hold_at_dense_points[2d-clip]": (
        "tests/detector/test_deep_activations.py::test_constructed_clip_net"
    ),
    "tests/detector/test_detect_nd.py::test_bab_decides_what_one_bound_cannot": (
        "tests/models/test_split.py::test_splitting_decides_what_the_grid_left_and_agrees_with_brute_force"
    ),
    "tests/detector/test_detect_nd.py::test_crown_bounds_dominate_dense_grid": (
        "tests/detector/test_linear_bounds.py::test_crown_upper_is_sound_for_any_slopes"
    ),
    "tests/detector/test_detect_nd.py::test_estimate_matches_lp_reference[arch1-10.0]": (
        "tests/detector/test_detect_nd.py::test_layer2_max_matches_lp_and_grid"
    ),
    "tests/detector/test_detect_nd.py::test_exact_2d_mode_never_certifies_wrongly": (
        "tests/detector/test_detect_nd.py::test_layer2_ties_are_never_certified_wrongly"
    ),
    "tests/detector/test_inactive.py::test_ibp_1d_never_contradicts_exact": (
        "tests/detector/test_inactive.py::test_exact_1d_against_affine_pieces_and_grid"
    ),
    "tests/detector/test_inactive.py::test_ibp_nd_sound_on_dense_samples": (
        "tests/detector/test_inactive.py::test_ibp_upper_bounds_dense_max_and_tightens[2]"
    ),
    "tests/detector/test_linear_bounds.py::test_prior_bounds_never_loosen_and_contain_samples": (
        "tests/models/test_split.py::test_splitting_decides_what_the_grid_left_and_agrees_with_brute_force"
    ),
    "tests/detector/test_soundness.py::test_issue_wide_box_example_is_never_certified_inactive[float64]": (
        "tests/detector/test_soundness.py::test_issue_wide_box_example_is_never_certified_inactive[float32]"
    ),
    "tests/detector/test_soundness.py::test_nan_bounds_never_drop_a_sub_box": (
        "tests/detector/test_soundness.py::test_no_wrong_certificate_small_search"
    ),
    "tests/detector/test_soundness.py::test_narrow_bumps_near_zero_on_wide_boxes[2-0.0-float32]": (
        "tests/exact/test_breakpoints.py::test_narrow_bumps_on_wide_boxes_are_never_certified_inactive"
    ),
    # --- engine
    "tests/engine/test_engine_stream.py::test_block_drawn_training_equals_a_step_by_step_loop[adam-2d-noise]": (
        "tests/engine/test_engine_stream.py::test_block_drawn_training_equals_a_step_by_step_loop[prime-steps]"
    ),
    "tests/engine/test_numerics.py::test_cli_summary_survives_all_trials_diverging": (
        "tests/cli/test_first_hour.py::test_all_trials_diverged_table_and_json"
    ),
    "tests/engine/test_numerics.py::test_diverging_trials_are_flagged_and_do_not_touch_the_others[momentum]": (
        "tests/engine/test_numerics.py::test_diverging_trials_are_flagged_and_do_not_touch_the_others[sgd]"
    ),
    "tests/engine/test_numerics.py::test_float64_engine_run": (
        "tests/engine/test_train.py::test_float64_run_needs_x64_and_equals_fit_in_float64"
    ),
    "tests/engine/test_six_settings_torch.py::test_settings_1_and_2_match_pytorch[2]": (
        "tests/engine/test_masks.py::test_masked_fit_matches_torch_and_freezes_bit_identically[sgd]"
    ),
    "tests/engine/test_snapshots.py::test_snapshots_leave_every_other_result_bit_identical[sgd]": (
        "tests/engine/test_snapshots.py::test_snapshots_match_a_step_by_step_loop[sgd]"
    ),
    "tests/engine/test_train.py::test_diverge_threshold_flags_exactly_the_trials_above_it": (
        "tests/engine/test_train.py::test_diverging_trial_is_flagged_and_others_finish"
    ),
    "tests/engine/test_train.py::test_online_adam_with_schedule_equals_fit": (
        "tests/engine/test_train.py::test_online_run_equals_fit_on_the_documented_batches"
    ),
    "tests/engine/test_train_properties.py::test_bit_identical_under_number_of_trials_and_devices": (
        "tests/engine/test_train.py::test_bit_identical_across_device_counts"
    ),
    "tests/engine/test_train_properties.py::test_bit_identical_under_trial_order_within_a_chunk": (
        "tests/engine/test_train_properties.py::test_bit_identical_under_chunk_order_and_resume"
    ),
    "tests/engine/test_train_properties.py::test_chunk_sizes_agree_within_float_tolerance": (
        "tests/engine/test_train_properties.py::test_chunk_size_tolerance_is_not_vacuous"
    ),
    # --- estimation
    "tests/estimation/test_estimate.py::test_deep_estimates_against_theory[(1, 2, 2, 2, 1)-[(0, 2)]-pytorch-False]": (
        "tests/estimation/test_estimate.py::test_deep_estimates_against_theory[(2, 2, 3, 1)-[(0, 1), (0, 1)]-normal-True]"
    ),
    "tests/estimation/test_estimate.py::test_inactive_neurons_keep_their_parameters[adam]": (
        "tests/estimation/test_estimate.py::test_inactive_neurons_keep_their_parameters[sgd]"
    ),
    "tests/estimation/test_estimate.py::test_shared_draw_program_draws_each_family_s_nets[glorot_uniform-True-0.5]": (
        "tests/estimation/test_estimate.py::test_shared_draw_program_draws_each_family_s_nets[pytorch-True-1.0]"
    ),
    "tests/estimation/test_estimate.py::test_shared_draw_program_draws_each_family_s_nets[he_normal-False-2.0]": (
        "tests/estimation/test_estimate.py::test_shared_draw_program_draws_each_family_s_nets[pytorch-True-1.0]"
    ),
    "tests/estimation/test_estimate.py::test_shared_draw_program_draws_each_family_s_nets[rai-False-1.0]": (
        "tests/core/test_inits.py::test_rai_structure[False]"
    ),
    "tests/estimation/test_estimate.py::test_shallow_estimates_reproduce_closed_forms[(1, 4, 1)-[(-0.5, 2)]-pytorch-False]": (
        "tests/estimation/test_estimate.py::test_shallow_estimates_reproduce_closed_forms[(1, 4, 1)-[(1, 2)]-pytorch-True]"
    ),
    "tests/estimation/test_estimate.py::test_shallow_estimates_reproduce_closed_forms[(3, 4, 1)-[(0, 1), (0, 1), (0, 1)]-normal-True]": (
        "tests/estimation/test_estimate.py::test_shallow_estimates_reproduce_closed_forms[(3, 4, 1)-[(-1, 1), (-1, 1), (-1, 1)]-he_uniform-False]"
    ),
    "tests/estimation/test_estimate.py::test_trial_counts_do_not_depend_on_trials_or_chunk_size": (
        "tests/estimation/test_estimate.py::test_cli_estimate_does_not_depend_on_chunk_size"
    ),
    "tests/estimation/test_failure.py::test_failure_json_against_recount": (
        "tests/estimation/test_failure.py::test_failure_after_training_is_typed"
    ),
    "tests/estimation/test_frozen_criteria.py::test_frozen_counts_bracket_dense_sampling[arch1]": (
        "tests/estimation/test_frozen_criteria.py::test_frozen_counts_bracket_dense_sampling[arch0]"
    ),
    "tests/estimation/test_frozen_criteria.py::test_train_clip_frozen_criteria_and_bound": (
        "tests/detector/test_activations.py::test_frozen_certificates_are_sound_on_a_dense_grid"
    ),
    "tests/estimation/test_levels.py::test_experiment_stores_exact_risks_and_reports_not_global": (
        "tests/experiments/test_six_settings.py::test_bounded_classes_against_the_definition"
    ),
    "tests/estimation/test_levels.py::test_not_global_criterion_in_failure_after_training": (
        "tests/experiments/test_six_settings.py::test_bounded_classes_against_the_definition"
    ),
    # --- exact
    "tests/exact/test_breakpoints.py::test_capacity_ladder_redoes_overflows_and_results_do_not_depend_on_chunking": (
        "tests/exact/test_breakpoints.py::test_refine_overflow_only_redoes_overflowing_trials[True-want_calls1]"
    ),
    "tests/exact/test_breakpoints.py::test_leaky_relu_and_softplus_get_no_relu_verdicts": (
        "tests/cli/test_check_cli.py::test_leaky_and_softplus_are_told_no_neuron_can_be_dead"
    ),
    "tests/exact/test_breakpoints.py::test_random_nets_large_weights_wide_boxes_no_wrong_certificate": (
        "tests/exact/test_breakpoints.py::test_narrow_bumps_on_wide_boxes_are_never_certified_inactive"
    ),
    "tests/exact/test_breakpoints.py::test_unknowns_are_rare_on_normal_inits": (
        "tests/exact/test_breakpoints.py::test_wide_box_narrow_bump_of_the_issue_is_never_inactive"
    ),
    "tests/exact/test_density_risk.py::test_lsq_levels_under_a_density_match_grid_least_squares": (
        "tests/cli/test_input_dist_cli.py::test_levels_under_a_density"
    ),
    # --- experiments
    "tests/experiments/test_experiments_rare.py::test_first_layer_matches_one_minus_p_to_the_h": (
        "tests/rare/test_rare.py::test_point_box_no_inactive[widths0]"
    ),
    "tests/experiments/test_growth.py::test_cli_run_grows_with_trials": (
        "tests/experiments/test_growth.py::test_store_grows_256_to_512"
    ),
    "tests/experiments/test_six_settings.py::test_six_settings_tiny_run_reports": (
        "tests/experiments/test_six_settings.py::test_classes_cover_every_run_once"
    ),
    # --- flow
    "tests/flow/test_flow.py::test_flow_ends_at_the_closed_form_critical_values": (
        "tests/flow/test_flow.py::test_flow_matches_scipy_radau"
    ),
    # --- models
    "tests/models/test_check.py::test_data_path_agrees_with_box_path[10]": (
        "tests/models/test_check.py::test_data_path_agrees_with_box_path[1]"
    ),
    "tests/models/test_check.py::test_data_path_agrees_with_box_path[3]": (
        "tests/models/test_check.py::test_data_path_agrees_with_box_path[1]"
    ),
    "tests/models/test_check.py::test_high_dimensional_input_and_data_witnesses": (
        "tests/models/test_check.py::test_every_source_reports_exactly_the_constructed_neurons[3]"
    ),
    "tests/models/test_monitor_advise.py::test_advise_agrees_with_estimate": (
        "tests/cli/test_check_cli.py::test_advise_cli"
    ),
    "tests/models/test_monitor_advise.py::test_monitor_counts_match_check[3]": (
        "tests/models/test_monitor_advise.py::test_monitor_counts_match_check[1]"
    ),
    "tests/models/test_split.py::test_budget_zero_returns_the_input_and_check_matches": (
        "tests/models/test_split.py::test_cli_flag"
    ),
    "tests/models/test_split.py::test_inherited_bounds_tighten_what_stays_open_and_agree_with_brute_force": (
        "tests/models/test_split.py::test_splitting_decides_what_the_grid_left_and_agrees_with_brute_force"
    ),
    # --- rare
    "tests/rare/test_rare.py::test_point_box_not_constant[widths1]": (
        "tests/rare/test_rare.py::test_point_box_no_inactive[widths0]"
    ),
    "tests/stats/test_json_types.py::test_cli_estimate_splitting": (
        "tests/rare/test_rare.py::test_cli_splitting"
    ),
    # --- more, second pass
    "tests/cli/test_cli.py::test_train_json_equals_train_run": (
        "tests/cli/test_data_cli.py::test_train_json_has_the_data_contract"
    ),
    "tests/engine/test_data_train.py::test_bit_identical_whatever_the_chunking": (
        "tests/engine/test_train_properties.py::test_bit_identical_under_chunk_order_and_resume"
    ),
    "tests/estimation/test_estimate.py::test_shared_draw_program_draws_each_family_s_nets[rai-True-1.5]": (
        "tests/core/test_inits.py::test_rai_structure[True]"
    ),
    "tests/experiments/test_experiments_rare.py::test_point_box_matches_closed_form": (
        "tests/rare/test_rare.py::test_point_box_no_inactive[widths0]"
    ),
    "tests/experiments/test_experiments_rare.py::test_rerun_reuses_cells_and_changes_recompute": (
        "tests/experiments/test_experiments_rare.py::test_splitting_not_in_config_hash"
    ),
    "tests/rare/test_rare.py::test_curve_propagation_matches_dense_forward": (
        "tests/rare/test_rare.py::test_point_box_no_inactive[widths0]"
    ),
    "tests/stats/test_json_types.py::test_cli_estimate_with_undecided_neurons": (
        "tests/estimation/test_estimate.py::test_summary_brackets_when_unknowns_remain"
    ),
    "tests/pages/test_docs.py": (
        "tests/pages/test_docs_pages.py::test_page_runs_and_shows_its_outputs[detector.md]"
    ),
    "tests/pages/test_docs_your_model.py": (
        "tests/pages/test_docs_pages.py::test_page_runs_and_shows_its_outputs[detector.md]"
    ),
    "tests/engine/test_distributed.py::test_two_processes_train_bit_identical": (
        "tests/cli/test_first_hour.py::test_missing_peer_says_whom_and_gives_up"
    ),
    "tests/engine/test_distributed.py::test_two_processes_counts_bit_identical": (
        "tests/cli/test_first_hour.py::test_missing_peer_says_whom_and_gives_up"
    ),
    "tests/engine/test_distributed.py::test_two_processes_one_store_bit_identical": (
        "tests/cli/test_first_hour.py::test_missing_peer_says_whom_and_gives_up"
    ),
    "tests/experiments/test_experiments.py": (
        "tests/experiments/test_data_experiment.py::test_data_experiment_stores_empirical_risks_and_reports"
    ),
    "tests/estimation/test_levels.py::test_r0_and_affine_match_reference_levels": (
        "tests/exact/test_lsq.py::test_levels_of_x2_have_the_closed_form"
    ),
    "tests/estimation/test_levels.py::test_levels_decrease_and_match_their_nets": (
        "tests/exact/test_lsq.py::test_each_level_is_the_exact_risk_of_its_net"
    ),
    "tests/estimation/test_levels.py::test_cache_serves_smaller_widths_and_is_reused": (
        "tests/experiments/test_six_settings.py::test_bound_levels_reads_the_narrower_cache"
    ),
    "tests/estimation/test_levels.py::test_hand_built_nets_are_classified_at_their_level": (
        "tests/experiments/test_six_settings.py::test_bounded_classes_against_the_definition"
    ),
    "tests/detector/test_deep_activation_wiring.py::test_batched_detectors_agree_with_classify_neurons": (
        "tests/detector/test_deep_activations.py::test_constructed_clip_net"
    ),
    "tests/models/test_check.py::test_float64_weights_are_checked_in_float64": (
        "tests/test_api.py::test_float64_defaults_under_x64"
    ),
}


def stale_entries(collected: dict[str, bool], tier: dict[str, str] = EXTENDED) -> list[str]:
    """What is wrong with ``tier`` (default :data:`EXTENDED`) given the collected tests (id -> left
    out of the default suite): an entry of a collected file that names no collected test, a file
    given as a cover, a cover that is not in the default suite. Files that were not collected (a
    run of a few files) are not judged.
    """
    files = {nodeid.split("::")[0] for nodeid in collected}
    problems = []
    for moved, cover in tier.items():
        if "::" not in cover:
            problems.append(f"the cover of {moved} is a file, not one test: {cover}")
        for name in (moved, cover):
            if name.split("::")[0] in files and "::" in name and name not in collected:
                problems.append(f"no test {name}")
        if collected.get(cover):
            problems.append(f"the cover {cover} of {moved} is not in the default suite")
    return problems
