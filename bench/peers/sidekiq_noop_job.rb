# The no-op job that sidekiq_bench.rb's worker processes run (`sidekiq -r` this file), and
# the worker side of the progress protocol described in common.js: the job only counts in
# memory; a reporter thread writes the count and latencies to Redis every few ms.
require "sidekiq"
require "redis"

# Debian pairs Sidekiq 6.4 with redis-rb 4.8, which warns on stderr at every BRPOP and
# SADD Sidekiq sends; printing thousands of warnings would be measured as Sidekiq's cost.
Redis.silence_deprecations = true

module BenchProgress
  REPORT_EVERY_S = 0.005
  @mutex = Mutex.new # guards @done, @last_done_us and @latencies
  @done = 0
  @last_done_us = 0
  @latencies = []

  def self.now_us
    Process.clock_gettime(Process::CLOCK_REALTIME, :float_microsecond)
  end

  def self.job_done(enqueued_us)
    start_us = now_us
    @mutex.synchronize do
      @latencies << (start_us - enqueued_us).round if enqueued_us > 0
      @done += 1
      @last_done_us = start_us
    end
  end

  def self.start_reporter(url)
    redis = Redis.new(url: url)
    Thread.new do
      reported = -1
      loop do
        sleep REPORT_EVERY_S
        done, last_us, latencies = @mutex.synchronize do
          batch = @latencies
          @latencies = []
          [@done, @last_done_us, batch]
        end
        redis.rpush("bench:pickup", latencies) unless latencies.empty?
        next if done == reported

        reported = done
        redis.hset("bench:progress", Process.pid.to_s, "#{done} #{last_us.round}")
      end
    end
    redis
  end
end

class NoopJob
  include Sidekiq::Worker
  sidekiq_options queue: "bench", retry: false

  def perform(enqueued_us)
    BenchProgress.job_done(enqueued_us)
  end
end

Sidekiq.configure_server do |config|
  url = ENV.fetch("BENCH_REDIS_URL")
  config.redis = { url: url }
  # Per-job log lines would measure the logger: every system runs with job logging off.
  Sidekiq.logger.level = Logger::WARN
  reporter = nil
  config.on(:startup) { reporter = BenchProgress.start_reporter(url) }
  # The first heartbeat comes as the fetchers start: from then on jobs are taken.
  config.on(:heartbeat) { reporter.sadd("bench:ready", Process.pid.to_s) }
end
