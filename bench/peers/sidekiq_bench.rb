# Sidekiq (Debian's ruby-sidekiq), measured as scripts/bench measures every system (the
# protocol is described in common.js):
#
#   ruby sidekiq_bench.rb REDIS_URL [--jobs N] [--workers W] ...   (flushes the db)
#
# Workers: W `sidekiq` processes with THREADS threads each, running NoopJob from
# sidekiq_noop_job.rb. Bulk enqueue is Sidekiq::Client.push_bulk in batches of BULK_BATCH.
require "json"
require "optparse"
require "redis"
require_relative "sidekiq_noop_job"

THREADS = 5
BULK_BATCH = 1000
QUEUE_KEY = "queue:bench"
HOLD_KEY = "hold:bench"
JOB_FILE = File.expand_path("sidekiq_noop_job.rb", __dir__)

def parse_options(argv)
  options = { jobs: 20_000, workers: 2, pickup_jobs: 300, pickup_every_ms: 5, timeout_s: 300 }
  parser = OptionParser.new do |o|
    o.banner = "usage: ruby sidekiq_bench.rb REDIS_URL [options]  (flushes the database at REDIS_URL)"
    o.on("--jobs N", Integer) { |v| options[:jobs] = v }
    o.on("--workers N", Integer) { |v| options[:workers] = v }
    o.on("--pickup-jobs N", Integer) { |v| options[:pickup_jobs] = v }
    o.on("--pickup-every-ms MS", Float) { |v| options[:pickup_every_ms] = v }
    o.on("--timeout-s S", Float) { |v| options[:timeout_s] = v }
  end
  rest = parser.parse(argv)
  abort(parser.banner) unless rest.size == 1
  options.merge(url: rest.first)
rescue OptionParser::ParseError => e
  warn e.message
  exit 2
end

def monotonic_s
  Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

def wait_for(timeout_s, what)
  deadline = monotonic_s + timeout_s
  until yield
    raise "timed out after #{timeout_s} s waiting for #{what}" if monotonic_s > deadline

    sleep 0.002
  end
end

def timed_rate(count)
  start = monotonic_s
  yield
  count / (monotonic_s - start)
end

def bulk_enqueue(count)
  (0...count).step(BULK_BATCH) do |sent|
    batch = [BULK_BATCH, count - sent].min
    Sidekiq::Client.push_bulk("class" => NoopJob, "args" => Array.new(batch) { [0] })
  end
end

def start_workers(options)
  Array.new(options[:workers]) do
    # Worker output goes to our stderr: stdout's last line is the result.
    Process.spawn({ "BENCH_REDIS_URL" => options[:url] }, "sidekiq", "-r", JOB_FILE,
                  "-q", "bench", "-c", THREADS.to_s, "-t", "2", out: $stderr, err: $stderr)
  end
end

def stop_workers(pids)
  pids.each { |pid| Process.kill("TERM", pid) rescue Errno::ESRCH }
  pids.each do |pid|
    deadline = monotonic_s + 10
    sleep 0.01 while Process.waitpid(pid, Process::WNOHANG).nil? && monotonic_s < deadline
    Process.kill("KILL", pid) rescue Errno::ESRCH
  end
rescue Errno::ECHILD
  nil
end

def done_so_far(redis)
  progress = redis.hgetall("bench:progress").values.map { |v| v.split.map(&:to_i) }
  [progress.sum(&:first), progress.map(&:last).max || 0]
end

def enqueue_paced(count, every_ms)
  start = monotonic_s
  count.times do |i|
    wait = start + i * every_ms / 1000.0 - monotonic_s
    sleep wait if wait.positive?
    NoopJob.perform_async(BenchProgress.now_us)
  end
end

def peak_rss_mb(pid)
  File.read("/proc/#{pid}/status")[/VmHWM:\s+(\d+) kB/, 1].to_f / 1024
rescue SystemCallError
  nil
end

def percentile(values, p)
  sorted = values.sort
  sorted[[sorted.size - 1, (p * sorted.size).ceil - 1].min]
end

def measure(options, redis)
  result = {}
  redis.flushdb
  result[:bulk] = timed_rate(options[:jobs]) { bulk_enqueue(options[:jobs]) }
  redis.flushdb
  result[:enqueue] = timed_rate(options[:jobs]) { options[:jobs].times { NoopJob.perform_async(0) } }

  # Jobs wait under another key while the workers boot, then come back in one step.
  redis.rename(QUEUE_KEY, HOLD_KEY)
  pids = start_workers(options)
  begin
    wait_for(options[:timeout_s], "worker processes to be ready") do
      redis.scard("bench:ready") >= options[:workers]
    end
    sleep 0.2
    released_us = BenchProgress.now_us
    redis.rename(HOLD_KEY, QUEUE_KEY)
    last_us = 0
    wait_for(options[:timeout_s], "#{options[:jobs]} jobs to be done") do
      done, last_us = done_so_far(redis)
      done >= options[:jobs]
    end
    result[:drain] = options[:jobs] / ((last_us - released_us) / 1e6)

    sleep 0.1
    enqueue_paced(options[:pickup_jobs], options[:pickup_every_ms])
    wait_for(options[:timeout_s], "pick-up latencies") { redis.llen("bench:pickup") >= options[:pickup_jobs] }
    result[:pickup_ms] = redis.lrange("bench:pickup", 0, -1).map { |us| us.to_f / 1000 }
    result[:rss_mb] = pids.map { |pid| peak_rss_mb(pid) || 0 }.max
  ensure
    stop_workers(pids)
  end
  result
end

options = parse_options(ARGV)
Sidekiq.configure_client { |config| config.redis = { url: options[:url], size: 2 } }
redis = Redis.new(url: options[:url])
begin
  r = measure(options, redis)
rescue StandardError => e
  warn "sidekiq_bench.rb: #{e.message}"
  exit 1
end
puts JSON.generate(
  enqueue_jobs_per_s: r[:enqueue].round,
  bulk_enqueue_jobs_per_s: r[:bulk].round,
  drain_jobs_per_s: r[:drain].round,
  pickup_p50_ms: percentile(r[:pickup_ms], 0.5).round(3),
  pickup_p99_ms: percentile(r[:pickup_ms], 0.99).round(3),
  pickup_max_ms: percentile(r[:pickup_ms], 1.0).round(3),
  rss_mb: r[:rss_mb].round(1),
  system: "Sidekiq #{Sidekiq::VERSION}, #{options[:workers]} processes x #{THREADS} threads"
)
